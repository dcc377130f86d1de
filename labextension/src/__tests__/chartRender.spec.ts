import { TrialSeries } from '../series';
import {
  boundsOf,
  Context2D,
  drawChart,
  ENDED_POINTS_BUDGET,
  IChartLine,
  niceTicks,
  PALETTE
} from '../views/chartRender';

/** Counts drawing calls, standing in for a canvas context. */
function recordingContext() {
  const calls = { moveTo: 0, lineTo: 0, stroke: 0, fillText: 0 };
  const noop = () => undefined;
  const ctx = {
    clearRect: noop,
    beginPath: noop,
    save: noop,
    restore: noop,
    setLineDash: noop,
    moveTo: () => void calls.moveTo++,
    lineTo: () => void calls.lineTo++,
    stroke: () => void calls.stroke++,
    fillText: () => void calls.fillText++,
    strokeStyle: '',
    fillStyle: '',
    lineWidth: 1,
    globalAlpha: 1,
    font: '',
    textAlign: 'left',
    textBaseline: 'top'
  };
  return { ctx: ctx as unknown as Context2D, calls };
}

const style = {
  width: 400,
  height: 220,
  textColor: '#000',
  gridColor: '#ccc',
  font: '10px sans-serif',
  highlight: null
};

function line(id: number, n: number): IChartLine {
  const series = new TrialSeries(2000);
  for (let i = 0; i < n; i++) {
    series.push([i, Math.sin(i / 50 + id)]);
  }
  return { id, series, color: '#000', running: true };
}

describe('drawChart', () => {
  it('draws nothing (and does not fail) without points', () => {
    const { ctx, calls } = recordingContext();
    expect(drawChart(ctx, [], style)).toEqual({
      lines: 0,
      points: 0,
      segments: 0
    });
    expect(drawChart(ctx, [line(0, 0)], style).lines).toBe(0);
    expect(calls.lineTo).toBe(0);
  });

  it('draws every point of a short series', () => {
    const { ctx } = recordingContext();
    const stats = drawChart(ctx, [line(0, 50)], style);
    expect(stats).toEqual({ lines: 1, points: 50, segments: 49 });
  });

  it('shows a trial with a single point as a short tick', () => {
    const { ctx, calls } = recordingContext();
    expect(drawChart(ctx, [line(0, 1)], style).segments).toBe(1);
    expect(calls.moveTo).toBeGreaterThan(0);
  });

  it('bounds the work by the width: 200 trials x 1,000 points with work bounded by the width', () => {
    const lines = [...Array(200).keys()].map(i => line(i, 1000));
    const { ctx, calls } = recordingContext();
    const stats = drawChart(ctx, lines, style);
    // best of a few warm draws: the machine running the tests may be busy with others
    let elapsed = Infinity;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      drawChart(ctx, lines, style);
      elapsed = Math.min(elapsed, performance.now() - started);
    }
    expect(stats.lines).toBe(200);
    expect(stats.points).toBe(200000);
    const plotWidth = 400 - 48 - 8;
    expect(stats.segments).toBeLessThanOrEqual(200 * 4 * (plotWidth + 1));
    expect(calls.stroke).toBeGreaterThanOrEqual(6 * 200);
    // The real guarantee is the segment bound above (it does not depend on the machine). This
    // only catches gross regressions: ~20 ms on an idle core, ~80 ms on a 2-core box at load 9.
    expect(elapsed).toBeLessThan(400);
  });

  it('draws 10,000 ended trials in a few strokes and a bounded number of segments', () => {
    const ended = [...Array(10_000).keys()].map(i => ({
      ...line(i, 50),
      color: PALETTE[i % PALETTE.length],
      running: false
    }));
    const live = { ...line(10_000, 50), color: '#123456' };
    const { ctx, calls } = recordingContext();
    const stats = drawChart(ctx, [...ended, live], style);
    expect(stats.lines).toBe(10_001);
    expect(stats.points).toBe(10_001 * 50);
    // one stroke per colour of ended lines, one per running line (plus the axes' one)
    expect(calls.stroke).toBeLessThanOrEqual(PALETTE.length + 1 + 1);
    // thinned to the budget (each line keeps its last point, so a little over it), the running
    // line drawn whole
    expect(stats.segments).toBeLessThanOrEqual(ENDED_POINTS_BUDGET * 1.2 + 49);
    expect(stats.segments).toBeGreaterThan(ENDED_POINTS_BUDGET / 2);
    const few = drawChart(ctx, ended.slice(0, 100), style);
    expect(few.segments).toBe(100 * 49); // under the budget: every point
  });

  it('pads flat data so it still gets a range', () => {
    const series = new TrialSeries(10);
    series.push([3, 0.5]);
    expect(boundsOf([{ id: 0, series, color: '', running: true }])).toEqual({
      x0: 3,
      x1: 4,
      y0: 0.475,
      y1: 0.525
    });
  });
});

describe('earlier trials of a resumed experiment', () => {
  it('are drawn first, faded and dashed, behind this run', () => {
    const strokes: { color: string; alpha: number; dashed: boolean }[] = [];
    let dash: number[] = [];
    const { ctx } = recordingContext();
    const rec = ctx as unknown as Record<string, unknown>;
    rec.setLineDash = (d: number[]) => void (dash = d);
    rec.stroke = () =>
      void strokes.push({
        color: rec.strokeStyle as string,
        alpha: rec.globalAlpha as number,
        dashed: dash.length > 0
      });
    const now = { ...line(2, 50), color: '#f00', running: true };
    const before = {
      ...line(1, 50),
      color: '#aaa',
      running: false,
      earlier: true
    };
    drawChart(ctx, [now, before], style);
    const drawn = strokes.filter(s => s.color === '#f00' || s.color === '#aaa');
    expect(drawn).toEqual([
      { color: '#aaa', alpha: 0.35, dashed: true },
      { color: '#f00', alpha: 1, dashed: false }
    ]);
  });
});

describe('niceTicks', () => {
  it('picks round steps inside the range', () => {
    expect(niceTicks(0.05468, 2.023)).toEqual([0.5, 1, 1.5, 2]);
    expect(niceTicks(0, 1)).toEqual([0, 0.5, 1]);
    expect(niceTicks(-3, 17)).toEqual([0, 5, 10, 15]);
  });
});
