// A resumed experiment in a real JupyterLab, a real kernel and headless Chromium: one cell runs three
// trials, the next continues the same experiment (`lagom(train, resume=ID, num_trials=5)`). The
// Experiments panel must keep ONE entry for the id, its trial table must show the three earlier
// trials greyed (class maggy-mod-earlier, titled "from an earlier run") and the two new ones not,
// and the second cell's live view must say it resumed.
//
// Run: `node --test ui-tests/resume.test.mjs` (needs what experiments.test.mjs needs). Screenshots go
// to test-artifacts/ui/resume-*.png. The store is the throwaway server's MAGGY_HOME.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { notebook, openPage, REPO, startJupyterLab } from './lib/jupyter.mjs';

const ARTIFACTS = join(REPO, 'test-artifacts', 'ui');
const WAIT = { timeout: 120_000 }; // a busy 2-core machine: patient, but every wait ends
const NAME = 'ui-resume';

// Trials of ~1.5 s (15 steps of 0.1 s), so each run is a few seconds; two workers.
const FIRST = `
from maggy import Searchspace, experiment

def train(x, reporter):
    import time
    for step in range(15):
        reporter.broadcast(x + step / 100, step=step)
        time.sleep(0.1)
    return x + 1

sp = Searchspace(x=("DOUBLE", [0.0, 1.0]))
first = experiment.lagom(train, name="${NAME}", num_trials=3, num_workers=2, searchspace=sp,
                         hb_interval=0.2, es_policy="none", seed=1)
print(f"first={first['experiment_id']} status={first['status']}")
`;

const RESUME = `
again = experiment.lagom(train, resume=first["experiment_id"], num_trials=5, num_workers=2,
                         hb_interval=0.2, es_policy="none", seed=2)
print(f"again={again['experiment_id']} status={again['status']}")
`;

let server;
let browser;
let page;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startJupyterLab({
    notebooks: { 'resume.ipynb': notebook(FIRST, RESUME) }
  });
  ({ browser, page } = await openPage());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const shot = name => page.screenshot({ path: join(ARTIFACTS, `resume-${name}.png`) });

/** Run the notebook's `index`-th cell and wait for the line its print writes: `key=ID status=S`. */
async function runCell(index, key) {
  const cell = page.locator('.jp-NotebookPanel .jp-Cell').nth(index);
  await cell.locator('.cm-content').click();
  await page.keyboard.press('Shift+Enter');
  const line = cell.locator('.jp-OutputArea-output', { hasText: `${key}=` }).last();
  await line.waitFor(WAIT);
  const match = /(\w+)=(\S+) status=(\w+)/.exec(await line.innerText());
  assert.ok(match, `cell ${index} printed no result: ${await cell.innerText()}`);
  return { cell, experimentId: match[2], status: match[3] };
}

test(
  'a resumed experiment is one panel entry with its earlier trials greyed',
  { timeout: 420_000 },
  async t => {
    t.after(async () => {
      if (page) {
        await shot('last-state').catch(() => undefined);
      }
    });
    try {
      await page.goto(`${server.url}/lab/workspaces/resume-${Date.now()}/tree/resume.ipynb?reset`);
      await page.locator('.jp-NotebookPanel .jp-Cell').nth(1).waitFor(WAIT);
      await page.locator('.lm-TabBar-tab[data-id="maggy-experiments"]').click();
      await page.locator('.maggy-Toolbar[data-status="connected"]').waitFor(WAIT);

      const first = await runCell(0, 'first');
      assert.equal(first.status, 'FINISHED');
      const item = page.locator(`.maggy-ExperimentList-item[data-experiment-id="${first.experimentId}"]`);
      const finished = page.locator(
        `.maggy-ExperimentList-item[data-experiment-id="${first.experimentId}"][data-status="FINISHED"]`
      );
      await finished.waitFor(WAIT);
      const rows = page.locator('tr.maggy-TrialTable-row');
      await page.waitForFunction(
        () => document.querySelectorAll('tr.maggy-TrialTable-row').length === 3,
        null,
        WAIT
      );
      assert.equal(await page.locator('tr.maggy-TrialTable-row.maggy-mod-earlier').count(), 0);
      await shot('01-first-run');

      const again = await runCell(1, 'again');
      assert.equal(again.experimentId, first.experimentId, 'the resume continues the same experiment');
      assert.equal(again.status, 'FINISHED');

      // the panel: ONE entry for the id (the resumed run took the earlier entry's place), finished
      await finished.waitFor(WAIT);
      assert.equal(await item.count(), 1);
      assert.equal(await page.locator('.maggy-ExperimentList-item', { hasText: NAME }).count(), 1);
      await item.click(); // whatever the panel follows, show this experiment's trials
      await page.waitForFunction(
        () => document.querySelectorAll('tr.maggy-TrialTable-row').length === 5,
        null,
        WAIT
      );

      // its trial table: the three earlier trials greyed and titled, the two new ones not
      const table = await rows.evaluateAll(trs =>
        trs.map(tr => ({
          id: Number(tr.dataset.trialId),
          state: tr.dataset.state,
          earlier: tr.classList.contains('maggy-mod-earlier'),
          title: tr.title,
          inline: tr.style.opacity,
          color: getComputedStyle(tr).color
        }))
      );
      t.diagnostic(JSON.stringify(table));
      const earlier = table.filter(r => r.earlier);
      const now = table.filter(r => !r.earlier);
      assert.deepEqual(
        earlier.map(r => r.id),
        [0, 1, 2]
      );
      assert.equal(now.length, 2);
      assert.ok(now.every(r => r.id > 2 && r.state === 'FINISHED' && r.title === ''));
      assert.ok(earlier.every(r => /earlier run/.test(r.title) && r.inline === ''));
      // greyed by the extension's stylesheet: the earlier rows' text colour is not the current rows'
      assert.equal(new Set(earlier.map(r => r.color)).size, 1);
      assert.notEqual(earlier[0].color, now[0].color);
      await page.locator('.maggy-Panel').screenshot({ path: join(ARTIFACTS, 'resume-02-panel.png') });

      // the second cell's live view says it resumed
      await again.cell.locator('.jp-OutputArea', { hasText: 'resumed: 3 earlier' }).waitFor(WAIT);
      await shot('03-resumed');
    } catch (err) {
      console.log('--- jupyter server log (tail) ---\n' + server.log().slice(-6000));
      throw err;
    }
  }
);
