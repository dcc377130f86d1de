// The Experiments panel in a real JupyterLab, a real kernel and headless Chromium.
//
// Run: `jlpm run test:ui` (needs /usr/bin/chromium, the repo's .venv with the extension
// installed: `pip install -e .` + `jupyter labextension develop . --overwrite`).
// Screenshots go to test-artifacts/ui/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { notebook, openPage, REPO, startJupyterLab, storedTrials } from './lib/jupyter.mjs';

const ARTIFACTS = join(REPO, 'test-artifacts', 'ui');
const WAIT = { timeout: 180_000 }; // the machine running this may be busy: be patient, not sleepy

// Two workers, three trials of ~20 s, each broadcasting every 0.2 s. The plain blocking lagom()
// is the real user path (JupyterFrontend.wait serves comm messages while the cell blocks); a
// checkout without that pump gets `await lagom_async`, which keeps the kernel responsive too.
// (Decided here, not in the cell: any `await` in a cell makes IPython run all of it as async.)
const RUN = hasBlockingPump()
  ? 'result = experiment.lagom(train, **args)'
  : 'result = await experiment.lagom_async(train, **args)';

const CELL = `
from maggy import Searchspace, experiment

def train(x, reporter):
    import time
    for step in range(100):
        reporter.broadcast(x + step / 100, step=step)
        if step % 10 == 0:
            reporter.log(f"step {step}: {x + step / 100:.3f}")
        time.sleep(0.2)
    return x + 1

sp = Searchspace(x=("DOUBLE", [0.0, 1.0]))
args = dict(name="ui-test", num_trials=3, num_workers=2, searchspace=sp, hb_interval=0.2,
            es_policy="none", seed=1)
${RUN}
print(f"best_val={result['best_val']:.6g} best_id={result['best_id']}")
`;

function hasBlockingPump() {
  const code =
    'from maggy_jupyter.frontend import JupyterFrontend as F; print(callable(getattr(F, "wait", None)))';
  const env = { ...process.env, PATH: `${join(REPO, '.venv', 'bin')}:${process.env.PATH}` };
  return execFileSync('python', ['-c', code], { env, encoding: 'utf8' }).trim() === 'True';
}

let server;
let browser;
let page;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startJupyterLab({ notebooks: { 'experiment.ipynb': notebook(CELL) } });
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

const shot = name => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

/** 'Busy' or 'Idle', as JupyterLab's status bar shows the kernel's status. */
async function kernelStatus() {
  return page.evaluate(() => {
    const texts = [...document.querySelectorAll('#jp-main-statusbar *')].map(e => e.textContent ?? '');
    return texts.find(t => /\| (Busy|Idle)$/.test(t.trim()))?.trim().split('| ').pop() ?? null;
  });
}

async function attr(selector, name) {
  return page.locator(selector).first().getAttribute(name);
}

test('the Experiments panel follows, charts and stops a running experiment', { timeout: 600_000 }, async t => {
  t.after(async () => {
    if (page) {
      await shot('last-state').catch(() => undefined);
    }
  });
  try {
    const workspace = `${server.url}/lab/workspaces/ui-${Date.now()}/tree/experiment.ipynb`;
    await page.goto(`${workspace}?reset`);
    await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor(WAIT);

    // the panel in the left sidebar, auto-connected to the notebook's kernel
    await page.locator('.lm-TabBar-tab[data-id="maggy-experiments"]').click();
    await page.locator('.maggy-Toolbar[data-status="connected"]').waitFor(WAIT);
    await shot('01-connected');

    // run the cell
    await page.locator('.jp-Cell .cm-content').first().click();
    await page.keyboard.press('Shift+Enter');

    // listed as running, and followed
    const item = page.locator('.maggy-ExperimentList-item[data-status="RUNNING"]', {
      hasText: 'ui-test'
    });
    await item.waitFor(WAIT);
    await page.locator('.maggy-Header[data-status="RUNNING"]').waitFor(WAIT);

    // both running trials draw lines, and the lines grow
    await page.waitForFunction(
      () => Number(document.querySelector('.maggy-Chart')?.dataset.lines) >= 2,
      null,
      WAIT
    );
    const before = Number(await attr('.maggy-Chart', 'data-received'));
    await page.waitForFunction(
      n => Number(document.querySelector('.maggy-Chart')?.dataset.received) >= n + 10,
      before,
      WAIT
    );
    assert.match(await page.locator('.maggy-StatusItem').innerText(), /maggy: \d\/3 trials, \d running/);
    await shot('02-running');
    // the panel's comm traffic does not make the running kernel read "Idle" (JupyterLab sends it
    // over a subshell, whose idle status the kernel side follows with the cell's busy again)
    assert.equal(await kernelStatus(), 'Busy');

    // stop one running trial while the cell is still running
    const row = page.locator('tr.maggy-TrialTable-row[data-state="RUNNING"]').first();
    const trialId = await row.getAttribute('data-trial-id');
    const prompt = page.locator('.jp-Cell .jp-InputPrompt').first();
    assert.match(await prompt.innerText(), /\[\*\]/, 'the cell should still be running');
    await row.locator('button.maggy-StopButton').click();
    await page
      .locator(`tr.maggy-TrialTable-row[data-trial-id="${trialId}"][data-state="STOPPED"]`)
      .waitFor(WAIT);
    assert.match(await prompt.innerText(), /\[\*\]/, 'the trial stopped before the cell ended');
    await page.waitForTimeout(500); // any status the stop request caused has arrived by now
    assert.equal(await kernelStatus(), 'Busy');
    await shot('03-trial-stopped');

    // its logs on selection
    await page.locator(`tr.maggy-TrialTable-row[data-trial-id="${trialId}"]`).click();
    await page.locator('.maggy-LogView-lines', { hasText: 'step 0:' }).waitFor(WAIT);

    // a page reload while the experiment runs: the new page lists it, subscribes (snapshot + seq)
    // and follows the stream again; the stopped trial's state comes back with the snapshot
    await page.goto(workspace);
    await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor(WAIT);
    if (!(await page.locator('#maggy-experiments').isVisible())) {
      await page.locator('.lm-TabBar-tab[data-id="maggy-experiments"]').click();
    }
    await page.locator('.maggy-Toolbar[data-status="connected"]').waitFor(WAIT);
    await page.locator('.maggy-ExperimentList-item', { hasText: 'ui-test' }).waitFor(WAIT);
    await page
      .locator(`tr.maggy-TrialTable-row[data-trial-id="${trialId}"][data-state="STOPPED"]`)
      .waitFor(WAIT);
    if ((await attr('.maggy-Header', 'data-status')) === 'RUNNING') {
      const resumed = Number(await attr('.maggy-Chart', 'data-received'));
      await page.waitForFunction(
        n => Number(document.querySelector('.maggy-Chart')?.dataset.received) >= n + 10,
        resumed,
        WAIT
      );
      t.diagnostic('after the reload the panel resubscribed and the lines kept growing');
    } else {
      t.diagnostic('the experiment ended before the reloaded page connected: read from the store');
    }

    // the end: the final best in the panel is the one lagom stored
    await page.locator('.maggy-Header[data-status="FINISHED"]').waitFor(WAIT);
    const stored = storedTrials(server, 'ui-test');
    const best = await page.locator('.maggy-Header-best').innerText();
    const expected = String(Number(stored.result.best_val.toPrecision(4))); // as the panel formats it
    assert.equal(best, `best ${expected} (trial ${stored.result.best_id})`);
    assert.match(await page.locator('.maggy-StatusItem').innerText(), /maggy: 3\/3 trials, best /);
    await page
      .locator('.maggy-ExperimentList-item[data-status="FINISHED"]', { hasText: 'ui-test' })
      .waitFor(WAIT);
    await shot('04-finished');

    // the store the kernel wrote agrees: that trial ended STOPPED, the others FINISHED
    assert.equal(stored.status, 'FINISHED');
    assert.equal(stored.trials[trialId], 'STOPPED');
    assert.equal(Object.values(stored.trials).filter(s => s === 'FINISHED').length, 2);
    t.diagnostic(`the cell ran: ${RUN}`);

    // the dark theme: the panel follows JupyterLab's CSS variables
    const lightBackground = await page.evaluate(() =>
      getComputedStyle(document.body).getPropertyValue('--jp-layout-color1').trim()
    );
    await page.keyboard.press('Control+Shift+C');
    await page.keyboard.type('JupyterLab Dark');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      light =>
        document.body.dataset.jpThemeName === 'JupyterLab Dark' &&
        getComputedStyle(document.body).getPropertyValue('--jp-layout-color1').trim() !== light,
      lightBackground,
      WAIT
    );
    await page.locator('#modal-command-palette').waitFor({ state: 'hidden', ...WAIT });
    await page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.locator('.maggy-Panel').screenshot({ path: join(ARTIFACTS, '05-dark-panel.png') });
  } catch (err) {
    console.log('--- jupyter server log (tail) ---\n' + server.log().slice(-6000));
    throw err;
  }
});
