// How the Experiments panel scales to 1,000 and 10,000 trials: prints figures, asserts nothing.
//
// For each N it folds an `experiment` snapshot of N finished trials (50 metric points each) into
// the panel's model, as the comm layer does (JSON.parse, parseKernelMessage, model.handle), then
// times, median of several runs:
//   - fold: the snapshot into the model; and one live batch (a trial ends, 8 report points)
//   - table: the trial table's render in jsdom (first render, and the render after that batch)
//   - chart: the chart's draw of every trial's curve at the panel's default width: the path
//     computation on a recording 2D context in node, and with --browser the real canvas draw
//     in headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM)
// and, with --browser, the frames a second the panel could redraw at while a batch arrives each
// frame (the chart's front layer only: the ended trials' back layer is redrawn only when the
// axes' range, size, highlight or theme change; its full draw is printed too).
//
// The snapshots are the kernel's own when `bench/panel_scale.py --write DIR` wrote them and
// PANEL_SCALE_DIR=DIR is set (that script also prints the kernel -> browser bytes); otherwise the
// same shape is built here. The TypeScript sources are compiled on the fly (typescript's
// transpileModule, as ts-jest does), so no build is needed.
//
// Run: node bench/panel_scale.mjs [--browser] [--trials 1000,10000]
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(REPO, 'labextension', 'src');
const require = createRequire(join(REPO, 'package.json'));
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const SIZES = option('--trials', '1000,10000').split(',').map(Number);
const POINTS = 50;
const WIDTH = 330; // the panel's default width (style/base.css min-width)
const TABLE_HEIGHT = 330; // 35vh of a 950 px high window

// ---- a DOM for the views, and the TypeScript sources loaded as CommonJS ----
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
for (const key of Object.getOwnPropertyNames(dom.window)) {
  if (!(key in globalThis)) {
    try {
      globalThis[key] = dom.window[key];
    } catch {
      // a read-only global node already has
    }
  }
}
globalThis.DragEvent ??= class DragEvent extends dom.window.MouseEvent {}; // jsdom lacks it
const ts = require('typescript');
const compile = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true
    }
  });
  module._compile(outputText, filename);
};
Module._extensions['.ts'] = compile;
const loadJs = Module._extensions['.js'];
// JupyterLab's packages are ES modules with extensionless imports: compiled like ours (as jest does)
Module._extensions['.js'] = (module, filename) =>
  /node_modules[\\/]@jupyter(lab)?[\\/]/.test(filename) ? compile(module, filename) : loadJs(module, filename);

const { ExperimentsModel } = require(join(SRC, 'model.ts'));
const { parseKernelMessage } = require(join(SRC, 'protocol.ts'));
const { TrialTable } = require(join(SRC, 'views', 'trialTable.ts'));
const { drawChart, colorFor } = require(join(SRC, 'views', 'chartRender.ts'));
const { Widget } = require('@lumino/widgets');

// ---- data ----
const EXP = '20260101-000000-bench0';

function buildSnapshot(n) {
  const trials = [];
  for (let id = 0; id < n; id++) {
    const history = [];
    for (let s = 0; s < POINTS; s++) {
      history.push([s, 0.5 + 0.4 * (1 - Math.exp(-s / 10)) + ((id * 7919) % 100) / 1000]);
    }
    trials.push({
      trial_id: id,
      params: {
        learning_rate: 1e-3 * (1 + (id % 97)),
        dropout_probability: (id % 50) / 100,
        optimizer: 'adam',
        hidden_units: 64
      },
      state: 'FINISHED',
      metric: history[POINTS - 1][1],
      start: id,
      end: id + 2,
      error: null,
      history,
      num_logs: 0
    });
  }
  return {
    v: 1,
    type: 'experiment',
    experiment: {
      experiment_id: EXP,
      name: 'bench',
      status: 'RUNNING',
      direction: 'max',
      num_trials: n + 8,
      start: 0,
      end: null,
      live: true,
      done: n,
      running: 0,
      best: { trial_id: 0, metric: 0.9 }
    },
    trials,
    seq: 1
  };
}

function snapshotText(n) {
  const dir = process.env.PANEL_SCALE_DIR;
  const file = dir ? join(dir, `snapshot-${n}.json`) : '';
  if (file && existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    const msg = JSON.parse(text);
    msg.experiment.experiment_id = EXP; // the batch below continues it, live
    msg.experiment.live = true;
    msg.experiment.status = 'RUNNING';
    return { text: JSON.stringify(msg), source: 'kernel' };
  }
  return { text: JSON.stringify(buildSnapshot(n)), source: 'built' };
}

/** One live batch: trial `n` ends, 8 running trials each report a point. */
function liveBatch(n, seq) {
  const running = Array.from({ length: 8 }, (_, i) => n + 1 + i);
  return {
    v: 1,
    type: 'batch',
    experiment_id: EXP,
    seq,
    started: running.map(id => ({
      trial_id: id,
      params: { learning_rate: 0.01 },
      state: 'RUNNING',
      metric: null,
      start: 1,
      end: null,
      error: null
    })),
    points: Object.fromEntries(running.map(id => [String(id), [[seq % POINTS, 0.5]]])),
    finished: [
      {
        trial_id: n + 1,
        params: { learning_rate: 0.01 },
        state: 'FINISHED',
        metric: 0.7,
        start: 1,
        end: 2,
        error: null
      }
    ]
  };
}

// ---- timing ----
function median(fn, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** A 2D context that records nothing: the chart's own cost, without rasterizing. */
function nullContext() {
  const noop = () => undefined;
  const ctx = { segments: 0 };
  for (const name of ['clearRect', 'beginPath', 'moveTo', 'stroke', 'fillText', 'save', 'restore', 'setLineDash']) {
    ctx[name] = noop;
  }
  ctx.lineTo = () => {
    ctx.segments += 1;
  };
  return ctx;
}

function chartLines(model) {
  const exp = model.selected;
  return [...exp.trials.values()].map(t => ({
    id: t.id,
    series: t.series,
    color: colorFor(t.id),
    running: t.state === 'RUNNING',
    earlier: t.earlier
  }));
}

const STYLE = {
  width: WIDTH,
  height: 220,
  textColor: '#666',
  gridColor: '#ccc',
  font: '10px sans-serif',
  highlight: null
};

const rows = [];
for (const n of SIZES) {
  const { text, source } = snapshotText(n);
  let model;
  const fold = median(() => {
    model = new ExperimentsModel();
    model.handle(parseKernelMessage(JSON.parse(text)));
  }, 5);
  const table = new TrialTable(model, { stopTrial: async () => ({}), stopExperiment: async () => ({}) });
  Object.defineProperty(table.node, 'clientHeight', { get: () => TABLE_HEIGHT, configurable: true });
  Widget.attach(table, document.body);
  const tableFirst = median(() => {
    const fresh = new TrialTable(model, { stopTrial: async () => ({}), stopExperiment: async () => ({}) });
    Object.defineProperty(fresh.node, 'clientHeight', { get: () => TABLE_HEIGHT, configurable: true });
    fresh.render();
  }, 5);
  table.render();
  let seq = model.selected.seq; // batches continue the snapshot's sequence
  const batchFold = median(() => {
    model.handle(liveBatch(n, ++seq));
  }, 9);
  const tableUpdate =
    median(() => {
      model.handle(liveBatch(n, ++seq));
      table.render();
    }, 9) - batchFold;
  const renderedRows = table.node.querySelectorAll('tr.maggy-TrialTable-row').length;
  const ctx = nullContext();
  const lines = chartLines(model);
  let stats;
  const chart = median(() => {
    stats = drawChart(ctx, chartLines(model), STYLE);
  }, 7);
  rows.push({
    n,
    source,
    kb: text.length / 1024,
    fold,
    batchFold,
    tableFirst,
    tableUpdate,
    renderedRows,
    chart,
    stats,
    lines
  });
  Widget.detach(table);
}

console.log(`Experiments panel at scale (jsdom, node ${process.version}; chart ${WIDTH} px wide; median ms)`);
console.log('   trials snapshot  fold snap  fold batch  table 1st  table upd  rows drawn  chart full path  segments');
for (const r of rows) {
  console.log(
    `${String(r.n).padStart(9)} ${(r.kb / 1024).toFixed(1).padStart(6)}MB ${r.fold.toFixed(0).padStart(8)}  ${r.batchFold.toFixed(2).padStart(9)}  ${r.tableFirst.toFixed(1).padStart(9)}  ${r.tableUpdate.toFixed(2).padStart(9)} ${String(r.renderedRows).padStart(10)}  ${r.chart.toFixed(1).padStart(15)} ${String(r.stats.segments).padStart(9)}   (${r.source} snapshot)`
  );
}
console.log('(table: jsdom, no layout; chart full path: the path computation alone, no raster; --browser for that)');

if (argv.includes('--browser')) {
  await browserChart(rows);
}

/**
 * The chart's real canvas draw in headless Chromium: chartRender.ts and what it imports, compiled
 * to ES modules and served from a made-up origin; the same curves, rebuilt there from the data.
 */
async function browserChart(measured) {
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run']
  });
  try {
    const page = await browser.newPage();
    await page.route('http://bench.local/**', route => {
      const path = new URL(route.request().url()).pathname;
      if (path === '/') {
        return route.fulfill({ contentType: 'text/html', body: '<!doctype html><body><canvas></canvas></body>' });
      }
      const file = join(SRC, path.replace(/\.js$/, '.ts'));
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 }
      });
      // extensionless relative imports, as the browser needs them
      const body = outputText.replace(/from '(\.{1,2}\/[^']+)'/g, "from '$1.js'");
      return route.fulfill({ contentType: 'text/javascript', body });
    });
    await page.goto('http://bench.local/');
    console.log(`\nchart on a real canvas (headless Chromium ${browser.version()}, ${WIDTH}x220 px, median ms)`);
    for (const r of measured) {
      const data = r.lines.map(l => ({
        id: l.id,
        running: l.running,
        steps: [...l.series.steps],
        values: [...l.series.values]
      }));
      const [full, frameMs] = await page.evaluate(
        async ({ data, style }) => {
          const { drawChart, colorFor, chartFrame, splitLines, drawLive, drawEnded } =
            await import('/views/chartRender.js');
          const { TrialSeries } = await import('/series.js');
          const lines = data.map(d => {
            const series = new TrialSeries(1000);
            d.steps.forEach((s, i) => series.push([s, d.values[i]]));
            return { id: d.id, series, color: colorFor(d.id), running: d.running };
          });
          const canvas = document.querySelector('canvas');
          canvas.width = style.width;
          canvas.height = style.height;
          const ctx = canvas.getContext('2d');
          const median = fn => {
            const times = [];
            for (let i = 0; i < 7; i++) {
              const t0 = performance.now();
              fn();
              ctx.getImageData(0, 0, 1, 1); // wait for the raster, not just the recording
              times.push(performance.now() - t0);
            }
            times.sort((a, b) => a - b);
            return times[3];
          };
          // everything (the chart's back layer redrawn: new range, size, highlight or theme)
          const full = median(() => drawChart(ctx, lines, style));
          // a batch's redraw: the front layer (running trials) and one trial that ended
          const frame = chartFrame(lines, style);
          const { ended, live } = splitLines(lines, null);
          const frameMs = median(() => {
            ctx.clearRect(0, 0, style.width, style.height);
            drawLive(ctx, live, style, frame);
            drawEnded(ctx, ended.slice(-1), style, frame, 1, false);
          });
          return [full, frameMs];
        },
        { data, style: STYLE }
      );
      const frame = r.batchFold + r.tableUpdate + frameMs;
      console.log(
        `${String(r.n).padStart(9)} trials: full draw ${full.toFixed(1)} ms (only when the range, size,` +
          ` highlight or theme change); a batch's redraw ${frameMs.toFixed(2)} ms; with the batch's fold` +
          ` and table update ${frame.toFixed(1)} ms a frame: ${(1000 / frame).toFixed(0)} frames a second at most`
      );
    }
  } finally {
    await browser.close();
  }
}
