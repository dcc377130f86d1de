import { formatNumber } from '../format';
import { TrialSeries } from '../series';

/**
 * Draws every trial's metric against step on a 2D canvas context. Pure (no DOM lookups), so
 * tests run it on a recording fake context.
 *
 * Cost is bounded by the canvas width, not the data: points that fall in the same pixel column
 * are reduced to that column's first, lowest, highest and last value (M4 reduction), which draws
 * the same picture as every point would. 200 trials x 1,000 points on a 400 px wide chart is at
 * most 200 x 1,600 segments, whatever the step count.
 *
 * And by a budget, not the number of trials: ended trials' curves (at thousands of trials, nearly
 * all of the work) are drawn as one path per colour, one stroke for hundreds of lines, and past
 * `ENDED_POINTS_BUDGET` points in all they are thinned evenly (every k-th point, the last one
 * kept). Running trials and the highlighted one are always drawn in full, on top.
 */

export interface IChartLine {
  id: number;
  series: TrialSeries;
  color: string;
  /** Running trials are drawn opaque, ended ones fainter. */
  running: boolean;
  /** From a resumed experiment's earlier runs: drawn first, faintest and dashed. */
  earlier?: boolean;
}

export interface IChartStyle {
  width: number;
  height: number;
  textColor: string;
  gridColor: string;
  font: string;
  /** The selected trial: drawn thick, the others faded. */
  highlight: number | null;
}

export interface IDrawStats {
  lines: number;
  points: number;
  segments: number;
}

/** The drawing calls used (a subset of CanvasRenderingContext2D). */
export type Context2D = Pick<
  CanvasRenderingContext2D,
  | 'clearRect'
  | 'beginPath'
  | 'moveTo'
  | 'lineTo'
  | 'stroke'
  | 'fillText'
  | 'save'
  | 'restore'
  | 'setLineDash'
  | 'strokeStyle'
  | 'fillStyle'
  | 'lineWidth'
  | 'globalAlpha'
  | 'font'
  | 'textAlign'
  | 'textBaseline'
>;

/** A resumed experiment's earlier trials: one grey, whatever their id. */
export const EARLIER_COLOR = '#a0a0a0';

/** Tableau 10: distinguishable on light and dark backgrounds alike. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac'
];

export const colorFor = (trialId: number): string =>
  PALETTE[trialId % PALETTE.length];

const MARGIN = { left: 48, right: 8, top: 8, bottom: 20 };

/** Most points of ended trials' curves drawn in full (10,000 trials x 50 points: every 5th). */
export const ENDED_POINTS_BUDGET = 50_000;

export interface IBounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Extents over all lines, padded so flat or single-point data still has a range. */
export function boundsOf(lines: IChartLine[]): IBounds | null {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const { series } of lines) {
    if (series.length === 0) {
      continue;
    }
    x0 = Math.min(x0, series.minStep);
    x1 = Math.max(x1, series.maxStep);
    y0 = Math.min(y0, series.minValue);
    y1 = Math.max(y1, series.maxValue);
  }
  if (!Number.isFinite(x0) || !Number.isFinite(y0)) {
    return null;
  }
  if (x1 === x0) {
    x1 = x0 + 1;
  }
  const pad = y1 === y0 ? Math.abs(y0) * 0.05 || 0.5 : (y1 - y0) * 0.05;
  return { x0, x1, y0: y0 - pad, y1: y1 + pad };
}

export function drawChart(
  ctx: Context2D,
  lines: IChartLine[],
  style: IChartStyle
): IDrawStats {
  ctx.clearRect(0, 0, style.width, style.height);
  const frame = chartFrame(lines, style);
  if (frame === null) {
    return { lines: 0, points: 0, segments: 0 };
  }
  const { ended, live } = splitLines(lines, style.highlight);
  const back = drawEnded(ctx, ended, style, frame, endedStride(ended), true);
  const front = drawLive(ctx, live, style, frame);
  return {
    lines: back.lines + front.lines,
    points: back.points + front.points,
    segments: back.segments + front.segments
  };
}

/** Where the data goes on the canvas: its bounds and the step/value -> pixel maps. */
export interface IChartFrame {
  bounds: IBounds;
  plotW: number;
  plotH: number;
  toX: (step: number) => number;
  toY: (value: number) => number;
}

/** The frame for `lines` at `style`'s size; null when there is nothing to draw or no room. */
export function chartFrame(
  lines: IChartLine[],
  style: IChartStyle
): IChartFrame | null {
  const bounds = boundsOf(lines);
  const plotW = style.width - MARGIN.left - MARGIN.right;
  const plotH = style.height - MARGIN.top - MARGIN.bottom;
  if (bounds === null || plotW < 10 || plotH < 10) {
    return null;
  }
  const sx = plotW / (bounds.x1 - bounds.x0);
  const sy = plotH / (bounds.y1 - bounds.y0);
  return {
    bounds,
    plotW,
    plotH,
    toX: step => MARGIN.left + (step - bounds.x0) * sx,
    toY: value => MARGIN.top + plotH - (value - bounds.y0) * sy
  };
}

/**
 * Ended lines (they no longer change: a view may keep them drawn on a layer of their own) and
 * live ones (running, and the highlighted one, last), each without empty series.
 */
export function splitLines(
  lines: IChartLine[],
  highlight: number | null
): { ended: IChartLine[]; live: IChartLine[] } {
  const ended: IChartLine[] = [];
  const live: IChartLine[] = [];
  let highlighted: IChartLine | null = null;
  for (const line of lines) {
    if (line.series.length === 0) {
      continue;
    }
    if (line.id === highlight) {
      highlighted = line;
    } else if (line.running) {
      live.push(line);
    } else {
      ended.push(line);
    }
  }
  if (highlighted !== null) {
    live.push(highlighted);
  }
  return { ended, live };
}

/** Every how-many-th point of ended lines to draw: 1 up to `ENDED_POINTS_BUDGET` in all. */
export function endedStride(ended: IChartLine[]): number {
  let points = 0;
  for (const line of ended) {
    points += line.series.length;
  }
  return Math.max(1, Math.ceil(points / ENDED_POINTS_BUDGET));
}

/**
 * Draw ended lines (the axes first with `axes`), grouped by look, one path and stroke per group:
 * earlier runs' first (behind this run's), then this run's. Adds to what the context holds.
 */
export function drawEnded(
  ctx: Context2D,
  ended: IChartLine[],
  style: IChartStyle,
  frame: IChartFrame,
  stride: number,
  axes: boolean
): IDrawStats {
  const stats: IDrawStats = { lines: 0, points: 0, segments: 0 };
  if (axes) {
    drawAxes(ctx, frame.bounds, style, frame.plotW, frame.plotH);
  }
  const groups = new Map<string, IChartLine[]>();
  for (const line of ended) {
    const key = `${line.earlier ? 0 : 1}${line.color}`;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, [line]);
    } else {
      group.push(line);
    }
  }
  const keys = [...groups.keys()].sort(); // '0…' (earlier) before '1…'
  keys.forEach(key =>
    strokeGroup(ctx, groups.get(key)!, style, frame, stride, stats)
  );
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
  return stats;
}

/** Draw running lines and the highlighted one (last, on top), each whole. */
export function drawLive(
  ctx: Context2D,
  live: IChartLine[],
  style: IChartStyle,
  frame: IChartFrame
): IDrawStats {
  const stats: IDrawStats = { lines: 0, points: 0, segments: 0 };
  live.forEach(line => strokeGroup(ctx, [line], style, frame, 1, stats));
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
  return stats;
}

/** One path for lines that look alike (the first one's colour, width, alpha and dash). */
function strokeGroup(
  ctx: Context2D,
  group: IChartLine[],
  style: IChartStyle,
  frame: IChartFrame,
  stride: number,
  stats: IDrawStats
): void {
  const line = group[0];
  const selected = line.id === style.highlight;
  ctx.strokeStyle = line.color;
  ctx.lineWidth = selected ? 2.5 : 1.25;
  ctx.globalAlpha =
    style.highlight !== null && !selected
      ? 0.2
      : line.running || selected
        ? 1
        : line.earlier
          ? 0.35
          : 0.6;
  ctx.setLineDash(line.earlier ? [4, 3] : []);
  ctx.beginPath();
  for (const each of group) {
    stats.segments += traceLine(ctx, each.series, frame.toX, frame.toY, stride);
    stats.lines += 1;
    stats.points += each.series.length;
  }
  ctx.stroke();
}

/** Path of one series with per-pixel-column M4 reduction, taking every `stride`-th kept point
 * (and the last); returns the segments emitted. Written as one flat loop without allocations:
 * it runs for every point on every redraw. */
function traceLine(
  ctx: Context2D,
  series: TrialSeries,
  toX: (s: number) => number,
  toY: (v: number) => number,
  stride = 1
): number {
  const { steps, values, tail } = series;
  const n = steps.length + (tail === null ? 0 : 1);
  const lastKept = steps.length - 1;
  let segments = -1; // the first flush is a moveTo
  let column = NaN;
  let first = 0;
  let low = 0;
  let high = 0;
  let last = 0;
  for (let i = 0; i <= n; i++) {
    let x = NaN;
    let y = 0;
    if (stride > 1 && i < lastKept && i % stride !== 0) {
      continue; // thinned out
    }
    if (i < steps.length) {
      x = Math.round(toX(steps[i]));
      y = toY(values[i]);
    } else if (i < n) {
      x = Math.round(toX(tail![0]));
      y = toY(tail![1]);
    }
    if (x === column) {
      low = y < low ? y : low;
      high = y > high ? y : high;
      last = y;
      continue;
    }
    if (!Number.isNaN(column)) {
      // flush the finished column: first, lowest, highest, last (skipping repeats)
      if (segments < 0) {
        ctx.moveTo(column, first);
      } else {
        ctx.lineTo(column, first);
      }
      segments += 1;
      if (low !== first) {
        ctx.lineTo(column, low);
        segments += 1;
      }
      if (high !== low) {
        ctx.lineTo(column, high);
        segments += 1;
      }
      if (last !== high) {
        ctx.lineTo(column, last);
        segments += 1;
      }
    }
    column = x;
    first = low = high = last = y;
  }
  if (segments === 0 && n > 0) {
    // a single column (e.g. one point so far): a short tick, or nothing would show
    ctx.lineTo(
      Math.round(toX(steps[0] ?? tail![0])) + 3,
      toY(values[0] ?? tail![1])
    );
    segments = 1;
  }
  return Math.max(0, segments);
}

/** Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  const raw = (hi - lo) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step =
    [1, 2, 5, 10].map(m => m * power).find(s => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12))); // no 0.30000000000000004 labels
  }
  return ticks;
}

function drawAxes(
  ctx: Context2D,
  b: IBounds,
  style: IChartStyle,
  plotW: number,
  plotH: number
): void {
  const toY = (v: number) =>
    MARGIN.top + plotH - ((v - b.y0) / (b.y1 - b.y0)) * plotH;
  const ticks = niceTicks(b.y0, b.y1);
  ctx.save();
  ctx.strokeStyle = style.gridColor;
  ctx.fillStyle = style.textColor;
  ctx.lineWidth = 1;
  ctx.font = style.font;
  ctx.setLineDash([2, 3]);
  ctx.beginPath();
  for (const v of ticks) {
    ctx.moveTo(MARGIN.left, toY(v));
    ctx.lineTo(MARGIN.left + plotW, toY(v));
  }
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of ticks) {
    ctx.fillText(formatNumber(v), MARGIN.left - 4, toY(v));
  }
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText(formatNumber(b.x0), MARGIN.left, MARGIN.top + plotH + 4);
  ctx.textAlign = 'right';
  ctx.fillText(
    `step ${formatNumber(b.x1)}`,
    MARGIN.left + plotW,
    MARGIN.top + plotH + 4
  );
  ctx.restore();
}
