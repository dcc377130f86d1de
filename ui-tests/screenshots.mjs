// Regenerates the README's screenshots of the live view in a real JupyterLab (headless Chromium):
//
//   docs/images/live-view-running.png   the in-cell live view mid-run
//   docs/images/live-view-finished.png  the same view once lagom() returned
//   docs/images/experiments-panel.png   the left-sidebar Experiments panel on that experiment
//
// Run: `jlpm run screenshots` (about 90 s; needs /usr/bin/chromium or $CHROMIUM, and the
// repo's .venv with the package and the labextension installed, as for `jlpm run test:ui`).
// JupyterLab runs on a throwaway root dir and MAGGY_HOME (ui-tests/lib/jupyter.mjs).
import { mkdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { notebook, openPage, REPO, startJupyterLab, storedTrials } from './lib/jupyter.mjs';

const OUT = join(REPO, 'docs', 'images');
const NAME = 'mnist-mlp';
const NUM_TRIALS = 12;
const WAIT = { timeout: 240_000 };
const MAX_BYTES = 400 * 1024;
const VIEWPORT = { width: 1400, height: 900 };

// A stand-in for a training loop (~15 s a trial): a noisy validation-accuracy curve that starts at
// chance level and whose ceiling depends on the hyperparameters. With seed 22 the third trial
// draws a learning rate above 0.3 and diverges (ERROR), and the median rule stops three weak
// trials (EARLY_STOPPED) at different epochs; the script stops one more from its button.
const CELL = `import math, random, time
from maggy import Searchspace, experiment

def train(lr, dropout, optimizer, reporter):
    rng = random.Random(f"{lr}/{dropout}/{optimizer}")
    ceiling = 0.95 - 0.09 * (math.log10(lr) + 1.6) ** 2 - 2.0 * (dropout - 0.15) ** 2
    ceiling -= 0.03 if optimizer == "sgd" else 0.0
    for epoch in range(50):
        if lr > 0.3:  # diverges
            if epoch == 9:
                raise FloatingPointError(f"loss is NaN at epoch {epoch} (lr={lr:.3g})")
            acc = 0.9 - 0.8 * math.exp(-epoch / 2.5) - 0.004 * epoch ** 2.2 * rng.random()
        else:
            acc = ceiling - (ceiling - 0.1) * math.exp(-epoch / 6)
            acc += rng.gauss(0, 0.008) if epoch else 0.0  # epoch 0: chance level, 0.1
        reporter.broadcast(acc, step=epoch)
        if epoch % 5 == 0:
            reporter.log(f"epoch {epoch}: val accuracy {acc:.4f}")
        time.sleep(0.3)
    return acc

sp = Searchspace(lr=("DOUBLE", [1e-4, 1.0], "log"), dropout=("DOUBLE", [0.0, 0.6]),
                 optimizer=("CATEGORICAL", ["adam", "sgd"]))
result = experiment.lagom(train, name="${NAME}", searchspace=sp, num_trials=${NUM_TRIALS},
                          num_workers=2, direction="max", es_policy="median", es_interval=1,
                          es_min=2, hb_interval=0.25, seed=22)
print(f"best accuracy {result['best_val']:.4f} in trial {result['best_id']}")
`;

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
const say = msg => console.log(`[screenshots ${elapsed()}] ${msg}`);

/** What the in-cell view shows now (read from its widgets' DOM). */
function liveState(page) {
  return page.evaluate(() => {
    const out = document.querySelector('.jp-Cell .jp-OutputArea');
    if (!out) {
      return null;
    }
    const text = out.innerText;
    const done = /(\d+)\/(\d+)\s+done/.exec(text);
    const running = /(\d+) running/.exec(text);
    const lines = [...out.querySelectorAll('svg path.line')].filter(
      p => (p.getAttribute('d') ?? '').length > 8
    ).length;
    const stops = [...out.querySelectorAll('button')]
      .filter(b => b.offsetParent !== null) // freed buttons stay in the DOM, hidden
      .map(b => b.innerText.trim())
      .filter(t => /^■ \d+$/.test(t));
    return {
      done: done ? Number(done[1]) : 0,
      total: done ? Number(done[2]) : 0,
      running: running ? Number(running[1]) : 0,
      early: /early-stopped/.test(text),
      error: /\berror\b/.test(text),
      lines,
      stops,
      text: text.slice(0, 300)
    };
  });
}

async function waitFor(page, what, predicate, timeoutMs = WAIT.timeout) {
  const deadline = Date.now() + timeoutMs;
  let state;
  for (;;) {
    state = await liveState(page);
    if (state && predicate(state)) {
      return state;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(state)}`);
    }
    await page.waitForTimeout(250);
  }
}

/** Two animation frames: whatever the last widget update changed is painted. */
const settle = page =>
  page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));

/** Screenshot the page region `clip` into docs/images/`file`. */
async function save(page, clip, file) {
  const path = join(OUT, file);
  await settle(page);
  await page.screenshot({ path, clip, animations: 'disabled' });
  const size = statSync(path).size;
  say(`wrote ${relative(REPO, path)} (${Math.round(size / 1024)} KB)`);
  if (size > MAX_BYTES) {
    console.warn(`warning: ${file} is over ${MAX_BYTES / 1024} KB`);
  }
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  say('starting JupyterLab');
  const server = await startJupyterLab({ notebooks: { 'tuning.ipynb': notebook(CELL) } });
  let browser;
  let page;
  try {
    ({ browser, page } = await openPage({ viewport: VIEWPORT, args: ['--hide-scrollbars'] }));

    await page.goto(`${server.url}/lab/workspaces/shots-${Date.now()}/tree/tuning.ipynb?reset`);
    await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor(WAIT);

    // Open the Experiments panel so it connects to the notebook's kernel and follows the
    // experiment from its start; then fold the sidebar away to give the notebook the width.
    const panelTab = page.locator('.lm-TabBar-tab[data-id="maggy-experiments"]');
    await panelTab.click();
    await page.locator('.maggy-Toolbar[data-status="connected"]').waitFor(WAIT);
    await panelTab.click();
    await page.locator('#maggy-experiments').waitFor({ state: 'hidden', ...WAIT });

    say('running the cell');
    const cell = page.locator('.jp-NotebookPanel .jp-Cell').first();
    await cell.locator('.cm-content').click();
    await page.keyboard.press('Control+Enter'); // run in place: no new cell below
    // fold the code away: the screenshots are of the output, which then starts at the top
    await cell.locator('.jp-Cell-inputCollapser').click();
    await cell.locator('.jp-Cell-inputArea').waitFor({ state: 'hidden', ...WAIT });
    const output = cell.locator('.jp-Cell-outputWrapper');

    // mid-run: a few trials ended (finished, early-stopped, failed), two running and drawing
    const mid = await waitFor(
      page,
      'several curves mid-run',
      s => s.done >= 4 && s.running === 2 && s.lines >= 6 && s.stops.length === 2
    );
    say(`mid-run: ${JSON.stringify({ ...mid, text: undefined })}`);
    await page.waitForTimeout(6000); // let the running curves grow
    await fitViewport(page, cell);
    await save(page, await outputClip(page, cell), 'live-view-running.png');

    // stop the most recently started trial from its button in the cell, while the cell runs
    const now = await liveState(page);
    const label = now.stops[now.stops.length - 1];
    const trialId = Number(label.slice(2));
    say(`stopping trial ${trialId} from the in-cell button`);
    await output.locator('button', { hasText: label }).first().click();
    await page.waitForFunction(
      id =>
        ![...document.querySelectorAll('.jp-Cell .jp-OutputArea button')].some(
          b => b.innerText.trim() === `■ ${id}`
        ),
      trialId,
      WAIT
    );

    // the end: lagom() returned and printed its result under the view
    await output.locator('.jp-OutputArea-output', { hasText: 'best accuracy' }).waitFor(WAIT);
    const stored = storedTrials(server, NAME);
    const states = Object.values(stored.trials);
    say(`finished: ${JSON.stringify(stored.trials)}`);
    if (stored.trials[trialId] !== 'STOPPED') {
      console.warn(`warning: trial ${trialId} ended ${stored.trials[trialId]}, not STOPPED`);
    }
    for (const wanted of ['FINISHED', 'EARLY_STOPPED', 'ERROR']) {
      if (!states.includes(wanted)) {
        console.warn(`warning: no trial ended ${wanted}; the pictures miss that state`);
      }
    }

    // the final leaderboard: sort the in-cell table by metric, best first
    await output.locator('select').first().selectOption('metric');
    await output.locator('button', { hasText: 'ascending' }).first().click();
    await page.waitForFunction(
      best => {
        const first = document.querySelector('.jp-Cell .jp-OutputArea tbody tr td');
        return first?.innerText.trim() === String(best);
      },
      stored.result.best_id,
      WAIT
    );
    await page.waitForTimeout(500);
    await fitViewport(page, cell);
    await save(page, await outputClip(page, cell), 'live-view-finished.png');
    await page.setViewportSize(VIEWPORT);

    // the Experiments panel on the same experiment, sidebar widened for readability
    await panelTab.click();
    const panel = page.locator('#maggy-experiments');
    await panel.waitFor(WAIT);
    const item = page.locator('.maggy-ExperimentList-item', { hasText: NAME }).first();
    await item.waitFor(WAIT);
    await item.click();
    await page.locator('.maggy-Header[data-status="FINISHED"]').waitFor(WAIT);
    await page.waitForFunction(
      n => Number(document.querySelector('.maggy-Chart')?.dataset.lines) >= n,
      NUM_TRIALS - 1,
      WAIT
    );
    // the failed trial selected: its traceback and log lines under the table
    const failed = Object.entries(stored.trials).find(([, state]) => state === 'ERROR')?.[0];
    if (failed !== undefined) {
      await page.locator(`tr.maggy-TrialTable-row[data-trial-id="${failed}"]`).click();
      await page.locator('.maggy-LogView-error', { hasText: 'FloatingPointError' }).waitFor(WAIT);
      await page.locator('.maggy-LogView-lines', { hasText: 'epoch 0' }).waitFor(WAIT);
    }
    await widenLeftSidebar(page, 520);
    await page.waitForTimeout(500);
    // the panel scrolls as one: grow the window until nothing is scrolled away
    const hidden = await panel.evaluate(node => node.scrollHeight - node.clientHeight);
    if (hidden > 0) {
      const { width, height } = page.viewportSize();
      await page.setViewportSize({ width, height: height + hidden + 8 });
      await page.waitForTimeout(500);
    }
    const bar = await page.locator('.jp-SideBar.jp-mod-left').boundingBox();
    const box = await panel.boundingBox();
    // down to the panel's last visible part, not the empty sidebar below it
    const bottom = await panel.evaluate(node =>
      Math.max(
        ...[...node.children]
          .filter(child => !child.hidden && child.offsetParent !== null)
          .map(child => child.getBoundingClientRect().bottom)
      )
    );
    const height = Math.min(box.height, Math.ceil(bottom - box.y) + 12);
    const clip = { x: bar.x, y: box.y, width: box.x + box.width - bar.x, height };
    await save(page, clip, 'experiments-panel.png');
    say('done');
  } catch (err) {
    if (page) {
      const failed = join(REPO, 'test-artifacts', 'screenshots-failed.png');
      mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: failed }).catch(() => undefined);
      console.log(`the page when it failed: ${relative(REPO, failed)}`);
    }
    console.log('--- jupyter server log (tail) ---\n' + server.log().slice(-6000));
    throw err;
  } finally {
    await browser?.close();
    await server.stop();
  }
}

/**
 * The live view is taller than a 900 px window: grow the window until the whole cell fits in the
 * notebook (the notebook scrolls inside the page, so a screenshot cannot reach past its edges),
 * and scroll the cell (its folded code a thin bar above the outputs) to the notebook's top.
 */
async function fitViewport(page, cell) {
  const toTop = () => cell.evaluate(node => node.scrollIntoView({ block: 'start' }));
  await toTop();
  const notebook = await page.locator('.jp-NotebookPanel-notebook').boundingBox();
  const box = await cell.boundingBox();
  const missing = Math.ceil(box.height - notebook.height) + 24;
  if (missing > 0) {
    const { width, height } = page.viewportSize();
    await page.setViewportSize({ width, height: height + missing });
    await page.waitForTimeout(300);
    await toTop();
  }
  // no focus ring around the active cell (or a clicked button) in the picture
  await page.evaluate(() => document.activeElement?.blur());
  await page.waitForTimeout(200);
}

/** The cell's outputs without their prompt column, a few px around, inside the notebook's edges. */
async function outputClip(page, cell) {
  const boxes = [];
  for (const child of await cell.locator('.jp-OutputArea-output').all()) {
    boxes.push(await child.boundingBox());
  }
  const inner = await page.locator('.jp-NotebookPanel-notebook').boundingBox();
  const input = await cell.locator('.jp-Cell-inputWrapper').boundingBox(); // the folded code's bar
  const pad = 6;
  const x = Math.max(inner.x + 1, Math.min(...boxes.map(b => b.x)) - pad);
  const top = Math.min(...boxes.map(b => b.y)) - pad;
  const y = Math.max(inner.y + 1, input.y + input.height + 1, top);
  const right = Math.max(...boxes.map(b => b.x + b.width)) + pad;
  const bottom = Math.max(...boxes.map(b => b.y + b.height)) + pad;
  return {
    x,
    y,
    width: Math.min(inner.x + inner.width - 2, right) - x,
    height: Math.min(inner.y + inner.height - 1, bottom) - y
  };
}

/** Drag the handle between the left sidebar and the main area so the sidebar is `width` px. */
async function widenLeftSidebar(page, width) {
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle').first();
  const box = await handle.boundingBox();
  if (!box) {
    return;
  }
  const y = box.y + box.height / 2;
  const bar = await page.locator('.jp-SideBar.jp-mod-left').boundingBox();
  await page.mouse.move(box.x + box.width / 2, y);
  await page.mouse.down();
  await page.mouse.move(bar.x + bar.width + width, y, { steps: 8 });
  await page.mouse.up();
}

main().then(
  () => process.exit(0),
  err => {
    console.error(err);
    process.exit(1);
  }
);
