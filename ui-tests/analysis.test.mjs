// The analysis tab in a real JupyterLab, a real kernel and headless Chromium: a cell runs 12 quick trials of
// a function where only `x` matters much; while it runs, the panel's "Analysis" button opens a main-area tab
// "Analysis: ui-analysis" that follows the experiment until it ends. Then every plot must hold one mark per
// trial (history dots and a best-so-far line, parallel-coordinate lines, one slice scatter per parameter),
// the importance must rank `x` first, and hovering a dot must show that trial's params.
//
// Run: `node --test ui-tests/analysis.test.mjs` (needs what experiments.test.mjs needs: the built extension,
// Chromium, playwright-core). Screenshots go to test-artifacts/ui/analysis-*.png.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { notebook, openPage, REPO, startJupyterLab } from './lib/jupyter.mjs';

const ARTIFACTS = join(REPO, 'test-artifacts', 'ui');
const WAIT = { timeout: 120_000 }; // a busy 2-core machine: patient, but every wait ends
const NAME = 'ui-analysis';
const TRIALS = 12;

// Trials of ~0.8 s (8 steps of 0.1 s), two workers: the run lasts several seconds, long enough to open
// the tab while it runs. The metric is 10 x plus a little noise and act: x is what matters.
const RUN = `
from maggy import Searchspace, experiment

def train(x, noise, act, reporter):
    import time
    for step in range(8):
        reporter.broadcast(x * step, step=step)
        time.sleep(0.1)
    return 10 * x + 0.1 * noise + (0.05 if act == "tanh" else 0.0)

sp = Searchspace(x=("DOUBLE", [0.0, 1.0]), noise=("DOUBLE", [0.0, 1.0]), act=("CATEGORICAL", ["relu", "tanh"]))
result = experiment.lagom(train, name="${NAME}", num_trials=${TRIALS}, num_workers=2, searchspace=sp,
                          optimizer="randomsearch", hb_interval=0.2, es_policy="none", seed=4)
print(f"done={result['experiment_id']} status={result['status']} best={result['best_id']}")
`;

let server;
let browser;
let page;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startJupyterLab({ notebooks: { 'analysis.ipynb': notebook(RUN) } });
  ({ browser, page } = await openPage());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const shot = name => page.screenshot({ path: join(ARTIFACTS, `analysis-${name}.png`) });

const count = selector => page.locator(selector).count();

test(
  "the analysis tab draws every plot of an experiment, live, with each trial's params on hover",
  { timeout: 420_000 },
  async t => {
    t.after(async () => {
      if (page) {
        await shot('last-state').catch(() => undefined);
      }
    });
    try {
      await page.goto(`${server.url}/lab/workspaces/analysis-${Date.now()}/tree/analysis.ipynb?reset`);
      const cell = page.locator('.jp-NotebookPanel .jp-Cell').first();
      await cell.waitFor(WAIT);
      await page.locator('.lm-TabBar-tab[data-id="maggy-experiments"]').click();
      await page.locator('.maggy-Toolbar[data-status="connected"]').waitFor(WAIT);

      await cell.locator('.cm-content').click();
      await page.keyboard.press('Shift+Enter');

      // open the analysis while the experiment runs (if the machine is quick, it may have ended already)
      const item = page.locator('.maggy-ExperimentList-item', { hasText: NAME });
      await item.waitFor(WAIT);
      await item.click();
      await page.locator('.maggy-Header:not([hidden]) .maggy-AnalysisButton').click();
      const tab = page.locator('.lm-TabBar-tab', { hasText: `Analysis: ${NAME}` });
      await tab.waitFor(WAIT);
      const view = page.locator('.maggy-Analysis');
      const status = view.locator('.maggy-Analysis-status[data-live]');
      await status.waitFor(WAIT);
      const firstLive = await status.getAttribute('data-live');
      const firstDots = await count('.maggy-Analysis-dot');
      t.diagnostic(`first analysis: live=${firstLive}, ${firstDots} history dots`);
      await shot('01-opened');

      // the cell ends (its notebook is behind the analysis tab now); the tab asks once more and stops
      const line = cell.locator('.jp-OutputArea-output', { hasText: 'done=' }).last();
      await line.waitFor({ state: 'attached', ...WAIT });
      const [, , runStatus, bestId] = /done=(\S+) status=(\w+) best=(\d+)/.exec(await line.textContent());
      assert.equal(runStatus, 'FINISHED');
      await view.locator('.maggy-Analysis-status[data-live="false"]').waitFor(WAIT);
      assert.match(await status.innerText(), /12 trials · direction max · finished/);
      if (firstLive === 'true') {
        assert.ok(firstDots < TRIALS, 'a live first analysis saw fewer trials than the end');
      }

      // history: one dot per trial, and a best-so-far line ending at the best trial's metric
      assert.equal(await count('[data-plot="history"] .maggy-Analysis-dot'), TRIALS);
      assert.equal(await count('[data-plot="history"] .maggy-Analysis-best'), 1);
      assert.match(
        await page.locator('.maggy-Analysis-best').getAttribute('data-tip'),
        new RegExp(`best: trial ${bestId}$`)
      );
      // parallel coordinates: one line per trial over x, noise, act and the metric
      assert.equal(await count('[data-plot="parallel"] .maggy-Analysis-line'), TRIALS);
      assert.equal(await count('[data-plot="parallel"] .maggy-Axis'), 4);
      // importance: one bar per parameter, x first
      const ranked = await page
        .locator('[data-plot="importance"] .maggy-Analysis-bar')
        .evaluateAll(bars => bars.map(b => b.getAttribute('data-param')));
      t.diagnostic(`importance order: ${ranked.join(', ')}`);
      assert.equal(ranked.length, 3);
      assert.equal(ranked[0], 'x');
      // slices: one scatter per parameter, one dot per trial in each
      const slices = await page
        .locator('[data-plot="slices"] .maggy-Analysis-slice')
        .evaluateAll(cells => cells.map(c => [c.dataset.param, c.querySelectorAll('circle').length]));
      assert.deepEqual(
        slices.sort(),
        [
          ['act', TRIALS],
          ['noise', TRIALS],
          ['x', TRIALS]
        ]
      );
      assert.equal(await count('[data-plot="ablation"]'), 0);
      await shot('02-finished');
      await page.locator('[data-plot="slices"]').screenshot({ path: join(ARTIFACTS, 'analysis-02-slices.png') });

      // hover: the best trial's dot shows its id, metric and params
      const dot = page.locator(`[data-plot="history"] .maggy-Analysis-dot[data-trial="${bestId}"]`);
      await dot.scrollIntoViewIfNeeded();
      await dot.hover();
      const tooltip = page.locator('.maggy-Analysis-tooltip');
      await tooltip.waitFor({ state: 'visible', timeout: 10_000 });
      const text = await tooltip.innerText();
      t.diagnostic(`hover: ${text.replace(/\n/g, ' | ')}`);
      assert.match(text, new RegExp(`^trial ${bestId} · metric \\d`));
      assert.match(text, /\nx = 0?\.\d+/);
      assert.match(text, /\nnoise = /);
      assert.match(text, /\nact = (relu|tanh)/);
      // and a parallel-coordinates line does too
      const lineMark = page.locator('[data-plot="parallel"] .maggy-Analysis-line').last();
      await lineMark.scrollIntoViewIfNeeded();
      // a point on the line's stroke (the middle of its box may be off the line), in page pixels
      const at = await lineMark.evaluate(path => {
        const p = path.getPointAtLength(path.getTotalLength() * 0.4);
        const m = path.getScreenCTM();
        return { x: p.x * m.a + p.y * m.c + m.e, y: p.x * m.b + p.y * m.d + m.f };
      });
      await page.mouse.move(at.x, at.y);
      await page.waitForFunction(() => {
        const tip = document.querySelector('.maggy-Analysis-tooltip');
        return tip && !tip.hidden && /^trial \d+ · metric/.test(tip.textContent);
      });
      await view.screenshot({ path: join(ARTIFACTS, 'analysis-03-hover.png') });
    } catch (err) {
      console.log('--- jupyter server log (tail) ---\n' + server.log().slice(-6000));
      throw err;
    }
  }
);
