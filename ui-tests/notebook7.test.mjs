// The Experiments panel in Notebook 7 (`jupyter notebook`): a real server and kernel, headless Chromium.
//
// Run: `jlpm run test:ui:nb7` (needs /usr/bin/chromium or $CHROMIUM, and the repo's .venv with
// `notebook>=7`, the package and the labextension installed, as for `jlpm run test:ui`).
// Screenshot: test-artifacts/ui/notebook7-panel.png (and notebook7-last-state.png on a failure).
//
// Notebook 7 starts with its left sidebar collapsed; the panel is opened the way a user does it,
// View > Left Sidebar > Show Experiments (maggy). The experiment is short (four trials of ~3 s on
// two workers), so the test does not race it: a MutationObserver installed before the cell runs
// records every state the panel shows, and the growth of the trial lines is checked on that record.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { notebook, openPage, REPO, startNotebook7, storedTrials } from './lib/jupyter.mjs';

const ARTIFACTS = join(REPO, 'test-artifacts', 'ui');
const WAIT = { timeout: 180_000 }; // the machine running this may be busy: be patient, not sleepy
const NAME = 'nb7-test';
const NUM_TRIALS = 4;

// The plain blocking lagom(): the cell stays busy while the panel is fed over the comm.
const CELL = `
from maggy import Searchspace, experiment

def train(x, reporter):
    import time
    for step in range(15):
        reporter.broadcast(x + step / 100, step=step)
        time.sleep(0.2)
    return x + 1

sp = Searchspace(x=("DOUBLE", [0.0, 1.0]))
result = experiment.lagom(train, name="${NAME}", num_trials=${NUM_TRIALS}, num_workers=2,
                          searchspace=sp, hb_interval=0.2, es_policy="none", seed=1)
print(f"best_val={result['best_val']:.6g} best_id={result['best_id']}")
`;

let server;
let browser;
let page;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startNotebook7({ notebooks: { 'experiment.ipynb': notebook(CELL) } });
  // Notebook 7.6.5's own shortcuts plugin throws "reading 'schema'" on load, with or without
  // this extension: openPage logs page errors, which are not fatal (as in the JupyterLab test)
  ({ browser, page } = await openPage());
  page.on('console', msg => {
    if (msg.text().includes('maggy')) {
      console.log('[console]', msg.text());
    }
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Record every distinct state of the panel from now on, into `window.__maggyTrace`. */
function installRecorder(name) {
  return page.evaluate(experimentName => {
    const panel = document.getElementById('maggy-experiments');
    const trace = [];
    let last = '';
    const snapshot = () => {
      const chart = panel.querySelector('.maggy-Chart');
      const item = [...panel.querySelectorAll('.maggy-ExperimentList-item')].find(
        li => li.querySelector('.maggy-ExperimentList-name')?.textContent === experimentName
      );
      const state = {
        item: item?.dataset.status ?? null,
        header: panel.querySelector('.maggy-Header')?.dataset.status ?? null,
        lines: Number(chart?.dataset.lines ?? 0),
        points: Number(chart?.dataset.points ?? 0),
        received: Number(chart?.dataset.received ?? 0)
      };
      const key = JSON.stringify(state);
      if (key !== last) {
        last = key;
        trace.push({ t: Math.round(performance.now()), ...state });
      }
    };
    window.__maggyTrace = trace;
    snapshot();
    new MutationObserver(snapshot).observe(panel, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-status', 'data-lines', 'data-points', 'data-received']
    });
  }, name);
}

test('Notebook 7: the Experiments panel lists, charts and finishes an experiment', { timeout: 600_000 }, async t => {
  try {
    await page.goto(`${server.url}/notebooks/experiment.ipynb`);
    await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor(WAIT);

    // View > Left Sidebar > Show Experiments (maggy)
    const panel = page.locator('#maggy-experiments');
    assert.equal(await panel.isVisible(), false, 'the left sidebar starts collapsed');
    await page.locator('.lm-MenuBar-item', { hasText: /^View$/ }).click();
    await page.locator('.lm-Menu .lm-Menu-item', { hasText: /^Left Sidebar$/ }).click();
    await page.locator('.lm-Menu .lm-Menu-item', { hasText: 'Show Experiments (maggy)' }).click();
    await panel.waitFor({ state: 'visible', ...WAIT });

    // auto-connected to the notebook's kernel
    await panel.locator('.maggy-Toolbar[data-status="connected"]').waitFor(WAIT);
    await installRecorder(NAME);

    // run the cell (blocking lagom)
    await page.locator('.jp-Cell .cm-content').first().click();
    await page.keyboard.press('Shift+Enter');
    const prompt = page.locator('.jp-Cell .jp-InputPrompt').first();

    // the experiment is listed and followed
    await panel.locator('.maggy-ExperimentList-item', { hasText: NAME }).waitFor(WAIT);
    // lines growing: wait until the record shows it (or the end, and judge the record below)
    await page.waitForFunction(
      () => {
        const running = window.__maggyTrace.filter(s => s.header === 'RUNNING' && s.points > 0);
        const received = new Set(running.map(s => s.received));
        const end = document.querySelector('#maggy-experiments .maggy-Header')?.dataset.status;
        return received.size >= 3 || (end !== undefined && end !== 'RUNNING');
      },
      null,
      WAIT
    );
    if ((await prompt.innerText()).includes('*')) {
      await page.screenshot({ path: join(ARTIFACTS, 'notebook7-running.png') });
    }

    // the end: the final best in the panel is the one lagom stored
    await panel.locator('.maggy-Header[data-status="FINISHED"]').waitFor(WAIT);
    await panel
      .locator('.maggy-ExperimentList-item[data-status="FINISHED"]', { hasText: NAME })
      .waitFor(WAIT);
    await page.locator('.jp-Cell .jp-OutputArea-output', { hasText: 'best_val=' }).waitFor(WAIT);
    const stored = storedTrials(server, NAME);
    assert.equal(stored.status, 'FINISHED');
    assert.equal(Object.values(stored.trials).filter(s => s === 'FINISHED').length, NUM_TRIALS);
    const expected = String(Number(stored.result.best_val.toPrecision(4))); // as the panel formats it
    assert.equal(
      await panel.locator('.maggy-Header-best').innerText(),
      `best ${expected} (trial ${stored.result.best_id})`
    );
    // every trial's line is drawn, with all its points
    await page.waitForFunction(
      n => Number(document.querySelector('#maggy-experiments .maggy-Chart')?.dataset.lines) === n,
      NUM_TRIALS,
      WAIT
    );
    await page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: join(ARTIFACTS, 'notebook7-panel.png') });

    // what the panel showed along the way
    const trace = await page.evaluate(() => window.__maggyTrace);
    const running = trace.filter(s => s.header === 'RUNNING');
    assert.ok(
      trace.some(s => s.item === 'RUNNING'),
      `the list showed the experiment RUNNING: ${JSON.stringify(trace)}`
    );
    const received = running.map(s => s.received).filter(n => n > 0);
    const distinct = [...new Set(received)];
    assert.ok(
      distinct.length >= 3,
      `the lines grew while it ran (received: ${distinct.join(', ')}): ${JSON.stringify(trace)}`
    );
    assert.deepEqual(
      received,
      [...received].sort((a, b) => a - b),
      'points only ever add up'
    );
    assert.ok(
      running.some(s => s.lines >= 2),
      `two trials drew lines at once while it ran: ${JSON.stringify(trace)}`
    );
    const final = Number(await panel.locator('.maggy-Chart').getAttribute('data-received'));
    assert.ok(final >= NUM_TRIALS * 10, `all trials' points arrived (${final})`);
    t.diagnostic(
      `${trace.length} panel states recorded; while running, points received went ` +
        `${distinct[0]} -> ${distinct[distinct.length - 1]} in ${distinct.length} steps; ` +
        `final ${final} points, ${expected} best (trial ${stored.result.best_id})`
    );
  } catch (err) {
    await page?.screenshot({ path: join(ARTIFACTS, 'notebook7-last-state.png') }).catch(() => undefined);
    console.log('--- jupyter server log (tail) ---\n' + server.log().slice(-6000));
    throw err;
  }
});
