// The status bar item follows the ACTIVE notebook's kernel, in a real JupyterLab, real kernels and
// headless Chromium. Two notebooks: a.ipynb runs an experiment, b.ipynb is fresh (its kernel ran
// nothing). With b active the item is hidden, although b's panel lists (and selects) a's
// experiment from the store, as it once showed the CLI demo's; with a active it shows a's
// experiment, running and after it ended, also after switching back and forth.
//
// Run: `node --test ui-tests/status.test.mjs` (needs what experiments.test.mjs needs). Screenshots
// go to test-artifacts/ui/status-*.png. The store is the throwaway server's MAGGY_HOME.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { notebook, openPage, REPO, startJupyterLab } from './lib/jupyter.mjs';

const ARTIFACTS = join(REPO, 'test-artifacts', 'ui');
const WAIT = { timeout: 120_000 }; // a busy 2-core machine: patient, but every wait ends
const NAME = 'ui-status';

// Two trials of ~6 s (30 steps of 0.2 s) on two workers: time to switch notebooks while it runs.
const RUN = `
from maggy import Searchspace, experiment

def train(x, reporter):
    import time
    for step in range(30):
        reporter.broadcast(x + step / 100, step=step)
        time.sleep(0.2)
    return x + 1

sp = Searchspace(x=("DOUBLE", [0.0, 1.0]))
result = experiment.lagom(train, name="${NAME}", num_trials=2, num_workers=2, searchspace=sp,
                          hb_interval=0.2, es_policy="none", seed=1)
print(f"done={result['experiment_id']} status={result['status']}")
`;

let server;
let browser;
let page;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startJupyterLab({
    notebooks: { 'a.ipynb': notebook(RUN), 'b.ipynb': notebook('x = 1') }
  });
  ({ browser, page } = await openPage());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const shot = name => page.screenshot({ path: join(ARTIFACTS, `status-${name}.png`) });
const status = () => page.locator('.maggy-StatusItem');
const tab = file => page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: file });

/** The id of the kernel of `file`'s notebook (from the server's sessions). */
async function kernelOf(file) {
  for (const deadline = Date.now() + WAIT.timeout; Date.now() < deadline; ) {
    const sessions = await (await fetch(`${server.url}/api/sessions`)).json();
    const session = sessions.find(s => s.path === file && s.kernel);
    if (session) {
      return session.kernel.id;
    }
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`no kernel for ${file}`);
}

/** Make `file`'s notebook the current widget; resolves once the panel is connected to its kernel. */
async function activate(file) {
  await tab(file).click();
  const kernel = await kernelOf(file);
  await page.locator(`.maggy-Toolbar[data-status="connected"][data-kernel-id="${kernel}"]`).waitFor(WAIT);
}

/** The status item shows experiment `id` with text matching `pattern`. */
async function shows(id, pattern) {
  await page.locator(`.maggy-StatusItem[data-experiment-id="${id}"]:visible`, { hasText: pattern }).waitFor(WAIT);
}

/** The status item is hidden though the panel lists and selects `id` (from the store). */
async function hiddenWhileListing(id) {
  await page
    .locator(`.maggy-ExperimentList-item.maggy-mod-selected[data-experiment-id="${id}"]`)
    .waitFor(WAIT);
  await page.waitForTimeout(300); // a render the list triggered has happened by now
  assert.equal(await status().isVisible(), false, `the status bar shows: ${await status().innerText()}`);
}

test('the status bar follows the active notebook kernel', { timeout: 420_000 }, async t => {
  t.after(async () => {
    if (page) {
      await shot('last-state').catch(() => undefined);
    }
  });
  try {
    await page.goto(`${server.url}/lab/workspaces/status-${Date.now()}/tree/a.ipynb?reset`);
    await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor(WAIT);
    // open b.ipynb from the file browser: two notebooks, two kernels
    const listing = page.locator('.jp-DirListing-item', { hasText: 'b.ipynb' });
    if (!(await listing.isVisible())) {
      await page.locator('.lm-TabBar-tab[data-id="filebrowser"]').click(); // (a /tree URL shows it open)
    }
    await listing.dblclick();
    await tab('b.ipynb').waitFor(WAIT);
    await page.locator('.lm-TabBar-tab[data-id="maggy-experiments"]').click();
    await activate('b.ipynb');
    assert.equal(await status().isVisible(), false);

    // run the experiment in a
    await activate('a.ipynb');
    const cell = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').first();
    await cell.locator('.cm-content').click();
    await page.keyboard.press('Shift+Enter');
    const running = page.locator('.maggy-ExperimentList-item[data-status="RUNNING"]', { hasText: NAME });
    await running.waitFor(WAIT);
    const id = await running.getAttribute('data-experiment-id');
    await shows(id, /maggy: \d\/2 trials, \d running/);
    await shot('01-a-running');

    // b active: b's kernel ran nothing, so nothing, though b's panel lists a's experiment
    await activate('b.ipynb');
    await hiddenWhileListing(id);
    await shot('02-b-active');

    // back to a, still running: shown again
    await activate('a.ipynb');
    await shows(id, /maggy: \d\/2 trials/);

    // the end: a shows its final best; b still nothing; a again after the switch
    await cell.locator('.jp-OutputArea-output', { hasText: 'done=' }).waitFor(WAIT);
    await shows(id, /maggy: 2\/2 trials, best /);
    await activate('b.ipynb');
    await hiddenWhileListing(id);
    await activate('a.ipynb');
    await shows(id, /maggy: 2\/2 trials, best /);
    // the panel shows the stored experiment's trials again (the table draws the rows in view)
    await page.waitForFunction(() => document.querySelectorAll('tr.maggy-TrialTable-row').length === 2, null, WAIT);
    assert.equal(await page.locator('.maggy-TrialTable').getAttribute('data-trials'), '2');
    await shot('03-a-finished');
  } catch (err) {
    console.log('--- jupyter server log (tail) ---\n' + server.log().slice(-6000));
    throw err;
  }
});
