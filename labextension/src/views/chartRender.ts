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
  const { width, height } = style;
  ctx.clearRect(0, 0, width, height);
  const stats: IDrawStats = { lines: 0, points: 0, segments: 0 };
  const bounds = boundsOf(lines);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  if (bounds === null || plotW < 10 || plotH < 10) {
    return stats;
  }
  drawAxes(ctx, bounds, style, plotW, plotH);
  const sx = plotW / (bounds.x1 - bounds.x0);
  const sy = plotH / (bounds.y1 - bounds.y0);
  const toX = (step: number) => MARGIN.left + (step - bounds.x0) * sx;
  const toY = (value: number) => MARGIN.top + plotH - (value - bounds.y0) * sy;

  // earlier runs' lines first, behind this run's; the highlighted line last, so it is on top
  const rank = (l: IChartLine) =>
    l.id === style.highlight ? 2 : l.earlier ? 0 : 1;
  const ordered = [...lines].sort((a, b) => rank(a) - rank(b));
  for (const line of ordered) {
    if (line.series.length === 0) {
      continue;
    }
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
    stats.segments += traceLine(ctx, line.series, toX, toY);
    ctx.stroke();
    stats.lines += 1;
    stats.points += line.series.length;
  }
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
  return stats;
}

/** Path of one series with per-pixel-column M4 reduction; returns the segments emitted.
 * Written as one flat loop without allocations: it runs for every point on every redraw. */
function traceLine(
  ctx: Context2D,
  series: TrialSeries,
  toX: (s: number) => number,
  toY: (v: number) => number
): number {
  const { steps, values, tail } = series;
  const n = steps.length + (tail === null ? 0 : 1);
  let segments = -1; // the first flush is a moveTo
  let column = NaN;
  let first = 0;
  let low = 0;
  let high = 0;
  let last = 0;
  for (let i = 0; i <= n; i++) {
    let x = NaN;
    let y = 0;
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
