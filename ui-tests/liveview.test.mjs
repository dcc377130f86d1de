// The in-cell live view (maggy_jupyter/live_view/) in a real JupyterLab, a real kernel and headless
// Chromium, read as a user sees it in the cell's output (issue 15, item 3): "elapsed" ticks while
// the experiment runs, also while no event comes (trials before their first metric); two running
// trials are drawn in two colours, each its trial's colour in the Experiments panel's palette; the
// stop button in trial X's own row stops X and no other trial, and leaves X's row once X ended; the
// sort toggle says the order it shows; the range label counts the rows shown; the end is a calm
// green "Experiment finished"; and what a worker wrote to fd 2 outside the trial's capture sits
// folded in a collapsed "worker output" accordion.
//
// Run: `node --test ui-tests/liveview.test.mjs` (needs what experiments.test.mjs needs). Screenshots
// go to test-artifacts/ui/liveview-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { notebook, openPage, REPO, startJupyterLab } from './lib/jupyter.mjs';

const ARTIFACTS = join(REPO, 'test-artifacts', 'ui');
const WAIT = { timeout: 120_000 }; // a busy 2-core machine: patient, but every wait ends
const NAME = 'ui-liveview';

// The panel's palette, read from its source: the cell must draw each trial in the same colour.
const PALETTE = (() => {
  const source = readFileSync(join(REPO, 'labextension', 'src', 'views', 'chartRender.ts'), 'utf8');
  const block = /export const PALETTE = \[([^\]]*)\]/.exec(source);
  assert.ok(block, 'PALETTE not found in labextension/src/views/chartRender.ts');
  return [...block[1].matchAll(/'(#[0-9a-fA-F]{6})'/g)].map(m => m[1].toLowerCase());
})();

// The first trial to claim this file writes one line straight to its fd 2: not print(), so the
// trial's capture does not take it, and it reaches the view as the worker's own output.
const CLAIM = join(tmpdir(), `maggy-liveview-${process.pid}-${Date.now()}`);
const FD2_LINE = 'liveview-test: written to fd 2 outside the capture';

// Four trials on two workers: 5 quiet seconds (no metric: only the clock can move the view), then
// ~16 s broadcasting every 0.2 s.
const CELL = `
from maggy import Searchspace, experiment

def train(x, reporter):
    import os, time
    try:
        fd = os.open(${JSON.stringify(CLAIM)}, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.close(fd)
        os.write(2, b"${FD2_LINE}\\n")
    except FileExistsError:
        pass
    time.sleep(5)
    for step in range(80):
        reporter.broadcast(x + step / 100, step=step)
        time.sleep(0.2)
    return x + 1

sp = Searchspace(x=("DOUBLE", [0.0, 1.0]))
result = experiment.lagom(train, name="${NAME}", num_trials=4, num_workers=2, searchspace=sp,
                          hb_interval=0.2, es_policy="none", seed=1)
print(f"result status={result['status']} best_id={result['best_id']}")
`;

let server;
let browser;
let page;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startJupyterLab({
    notebooks: { 'liveview.ipynb': notebook(CELL) }
  });
  ({ browser, page } = await openPage({
    viewport: { width: 1400, height: 1600 }
  }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(CLAIM, { force: true });
});

const shot = name =>
  page.screenshot({
    path: join(ARTIFACTS, `liveview-${name}.png`),
    fullPage: true
  });

/**
 * What the cell's live view shows, read from its DOM (runs in the page): the header's progress
 * line, the chart's notice and line strokes, the table's rows (id, state, the row's button), the
 * range label, the sort toggle, the end line, and the worker output accordion.
 */
function readView(output) {
  const visible = el => Boolean(el) && el.checkVisibility() && el.getBoundingClientRect().height > 0;
  const text = el => (el?.innerText ?? '').trim();
  const htmls = [...output.querySelectorAll('.widget-html-content')];
  const progress = htmls.find(el => /elapsed /.test(el.textContent));
  const notice = htmls.find(el => /starting workers|no metric points/.test(el.textContent) && visible(el));
  const range = htmls.find(el => /^\d+–\d+ of \d+$/.test(text(el)));
  const heads = [...output.querySelectorAll('thead th')].map(text);
  const column = name => heads.indexOf(name);
  const rows = [...output.querySelectorAll('tbody tr')].map(tr => {
    const tds = [...tr.querySelectorAll('td')];
    const cells = tds.map(text);
    const button = tr.closest('.widget-hbox')?.querySelector('button');
    return {
      id: Number.parseInt(cells[column('trial')], 10),
      state: cells[column('state')],
      visible: visible(tr),
      cut: tds.filter(td => td.scrollWidth > td.clientWidth).map(text), // shown with an ellipsis
      button: button
        ? {
            text: text(button),
            disabled: button.disabled,
            visible: visible(button)
          }
        : null
    };
  });
  // every bqplot line mark's path: its stroke colour (as hex) and the number of points it draws
  const hex = rgb => {
    const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
    return m
      ? '#' +
          m
            .slice(1, 4)
            .map(v => Number(v).toString(16).padStart(2, '0'))
            .join('')
      : rgb;
  };
  const lines = [...output.querySelectorAll('svg path.line')]
    .filter(p => (p.getAttribute('d') ?? '').length > 0)
    .map(p => ({
      stroke: hex(getComputedStyle(p).stroke),
      width: getComputedStyle(p).strokeWidth,
      dash: getComputedStyle(p).strokeDasharray,
      points: ((p.getAttribute('d') ?? '').match(/[ML]/g) ?? []).length
    }));
  const toggle = output.querySelector('button.widget-toggle-button');
  const end = output.querySelector('span[data-end]');
  const sections = [...output.querySelectorAll('.jupyter-widget-Collapse')].map(section => ({
    title: text(section.querySelector('.jupyter-widget-Collapse-header')),
    open: visible(section.querySelector('.jupyter-widget-Collapse-contents')),
    body: text(section.querySelector('.jupyter-widget-Collapse-contents'))
  }));
  // a scroll box between the rows and the page would hide rows the range label counts
  const body = output.querySelector('tbody')?.closest('.widget-vbox');
  return {
    progress: text(progress),
    elapsed: /elapsed ([^·]+)/.exec(text(progress))?.[1].trim() ?? null,
    notice: notice ? text(notice) : null,
    lines,
    rows,
    range: text(range),
    bodyClipped: body ? body.scrollHeight > body.clientHeight + 1 : null,
    toggle: toggle ? { text: text(toggle), pressed: toggle.classList.contains('mod-active') } : null,
    end: end
      ? {
          kind: end.dataset.end,
          text: text(end),
          color: getComputedStyle(end).color,
          visible: visible(end)
        }
      : null,
    sections
  };
}

/** The page's error colour (JupyterLab's --jp-error-color1), as computed. */
function errorColor() {
  const probe = document.createElement('span');
  probe.style.color = 'var(--jp-error-color1)';
  document.body.appendChild(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color;
}

test(
  'the live view ticks, colours each trial, stops the trial of the clicked row and ends calmly',
  { timeout: 480_000 },
  async t => {
    let snapshots = [];
    t.after(async () => {
      if (page) {
        await shot('last-state').catch(() => undefined);
      }
    });
    try {
      await page.goto(`${server.url}/lab/workspaces/liveview-${Date.now()}/tree/liveview.ipynb?reset`);
      const cell = page.locator('.jp-NotebookPanel .jp-Cell').first();
      await cell.waitFor(WAIT);
      // the kernel is up (a Shift+Enter before that runs nothing)
      await page.waitForFunction(
        () => /\| Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent ?? ''),
        null,
        WAIT
      );
      const output = cell.locator('.jp-OutputArea');
      const view = () => output.evaluate(readView);
      /** Wait until `predicate(view)` holds (polled; bounded by WAIT), and return that view. */
      const until = async (what, predicate, { timeout = WAIT.timeout } = {}) => {
        const deadline = Date.now() + timeout;
        let last = null;
        for (;;) {
          last = await view().catch(() => null);
          if (last && predicate(last)) {
            snapshots.push({ what, at: new Date().toISOString() });
            return last;
          }
          if (Date.now() > deadline) {
            throw new Error(
              `timed out after ${timeout} ms waiting for ${what}; last view: ${JSON.stringify(last)}`
            );
          }
          await page.waitForTimeout(150);
        }
      };

      await cell.locator('.cm-content').click();
      await page.keyboard.press('Shift+Enter');
      await page.waitForFunction(
        () => /\[(\*|\d+)\]/.test(document.querySelector('.jp-Cell .jp-InputPrompt')?.textContent ?? ''),
        null,
        { timeout: 30_000 }
      );

      // Before the first trial: the header's clock, and (when the browser catches it) the notice.
      const first = await until('the header', v => v.elapsed !== null);
      t.diagnostic(`first header: ${first.progress} · notice: ${first.notice}`);
      await shot('01-starting');

      // Two trials running, each with points: exactly their two lines on the chart.
      // Both first trials running, quiet (no metric point yet): "elapsed" ticks on the clock alone.
      const quiet1 = await until(
        'two running trials before their first metric',
        v => v.rows.filter(r => r.state === 'RUNNING').length === 2
      );
      await page.waitForTimeout(1200);
      const quiet2 = await view();
      t.diagnostic(`quiet: ${quiet1.elapsed} (${quiet1.notice}) -> ${quiet2.elapsed} (${quiet2.notice})`);
      assert.equal(quiet1.notice, 'no metric points yet', 'the first read came after the first metric');
      assert.equal(quiet2.notice, 'no metric points yet', 'the second read came after the first metric');
      assert.equal(quiet2.lines.length, 0);
      assert.notEqual(quiet1.elapsed, quiet2.elapsed, 'elapsed did not tick without events');

      const running = await until(
        'two running trials with their lines',
        v =>
          v.rows.filter(r => r.state === 'RUNNING').length === 2 &&
          v.lines.length === 2 &&
          v.lines.every(l => l.points >= 3)
      );
      await shot('02-running');

      // "elapsed" keeps ticking between two reads while both draw
      const tick1 = await view();
      await page.waitForTimeout(2500);
      const tick2 = await view();
      t.diagnostic(`elapsed: ${tick1.elapsed} -> ${tick2.elapsed}`);
      assert.ok(tick1.elapsed && tick2.elapsed, `no elapsed in ${tick1.progress}`);
      assert.notEqual(tick1.elapsed, tick2.elapsed, 'elapsed did not tick');
      assert.equal(tick2.rows.filter(r => r.state === 'RUNNING').length, 2, 'both still running');

      // one colour per trial, the panel's: PALETTE[id % 10]
      const ids = running.rows.filter(r => r.state === 'RUNNING').map(r => r.id);
      const strokes = tick2.lines.map(l => l.stroke);
      t.diagnostic(`running ${JSON.stringify(ids)}; lines ${JSON.stringify(tick2.lines)}`);
      assert.equal(new Set(strokes).size, 2, `two running trials share a colour: ${strokes}`);
      assert.deepEqual(
        [...strokes].sort(),
        ids.map(id => PALETTE[id % PALETTE.length]).sort(),
        'the running trials are not drawn in their panel colours'
      );

      // each running trial's row holds its own, enabled stop button "■ <id>"
      for (const row of tick2.rows.filter(r => r.state === 'RUNNING')) {
        assert.ok(row.button, `running trial ${row.id}'s row has no stop button`);
        assert.equal(row.button.text, `■ ${row.id}`);
        assert.equal(row.button.disabled, false);
        assert.ok(row.button.visible);
      }

      // the row count label and the rows shown agree, every row visible (no inner scroll box)
      const counted = /^(\d+)–(\d+) of (\d+)$/.exec(tick2.range);
      assert.ok(counted, `no range label: ${tick2.range}`);
      assert.equal(Number(counted[2]) - Number(counted[1]) + 1, tick2.rows.length);
      assert.ok(tick2.rows.every(r => r.visible));
      assert.equal(tick2.bodyClipped, false);

      // the stop button in X's own row stops X; the other running trial keeps running
      const [stopped, other] = ids;
      const prompt = cell.locator('.jp-InputPrompt');
      assert.match(await prompt.innerText(), /\[\*\]/, 'the cell should still be running');
      const rowBox = output.locator('.widget-hbox', { has: page.locator('tbody') }).filter({
        has: page.locator('button', { hasText: `■ ${stopped}` })
      });
      assert.equal(await rowBox.count(), 1, `no single row holds the button of trial ${stopped}`);
      await rowBox.locator('button', { hasText: `■ ${stopped}` }).click();
      const afterStop = await until(`trial ${stopped}'s row to read STOPPED`, v =>
        v.rows.some(r => r.id === stopped && r.state === 'STOPPED')
      );
      await shot('03-trial-stopped');
      const otherRow = afterStop.rows.find(r => r.id === other);
      assert.equal(
        otherRow?.state,
        'RUNNING',
        `trial ${other} should keep running: ${JSON.stringify(afterStop.rows)}`
      );
      assert.ok(otherRow.button && !otherRow.button.disabled, `trial ${other} lost its stop button`);
      const ended = await until(`trial ${stopped}'s row to hold no enabled stop button`, v => {
        const row = v.rows.find(r => r.id === stopped);
        return row && row.state === 'STOPPED' && (!row.button || row.button.disabled || !row.button.visible);
      });
      t.diagnostic(
        `trial ${stopped}'s row after its end: ${JSON.stringify(ended.rows.find(r => r.id === stopped))}`
      );
      assert.match(await prompt.innerText(), /\[\*\]/, 'the trial stopped before the cell ended');

      // the end: the cell's print, and the calm "Experiment finished" line (not red)
      await cell.locator('.jp-OutputArea-output', { hasText: 'result status=' }).waitFor(WAIT);
      const end = await until('the end line', v => v.end !== null && v.end.visible);
      await shot('04-finished');
      // no cell is cut: the columns are as wide as their text (bold and upper case included)
      t.diagnostic(`cells cut at the end: ${JSON.stringify(end.rows.map(row => [row.id, row.cut]))}`);
      assert.deepEqual(
        end.rows.flatMap(row => row.cut),
        [],
        'the trial table cuts some cells with an ellipsis'
      );
      t.diagnostic(`end line: ${JSON.stringify(end.end)}`);
      assert.equal(end.end.kind, 'success');
      assert.match(end.end.text, /Experiment finished/);
      const red = await page.evaluate(errorColor);
      assert.notEqual(end.end.color, red, 'the end line is in the error colour');
      const [r, g, b] = end.end.color.match(/\d+/g).map(Number);
      assert.ok(g > r && g > b, `the end line should read green, is ${end.end.color}`);
      assert.deepEqual(
        Object.fromEntries(end.rows.map(row => [row.id, row.state])),
        {
          0: 'FINISHED',
          1: 'FINISHED',
          2: 'FINISHED',
          3: 'FINISHED',
          [stopped]: 'STOPPED'
        },
        'the trials did not end as expected'
      );
      assert.ok(
        end.rows.every(row => !row.button || row.button.disabled || !row.button.visible),
        'an ended trial still has an enabled stop button'
      );
      const counted2 = /^(\d+)–(\d+) of (\d+)$/.exec(end.range);
      assert.ok(counted2, `no range label: ${end.range}`);
      assert.equal(Number(counted2[3]), 4);
      assert.equal(Number(counted2[2]) - Number(counted2[1]) + 1, end.rows.length);
      assert.equal(end.rows.length, 4);
      assert.ok(end.rows.every(row => row.visible));
      assert.equal(end.bodyClipped, false);

      // the sort toggle says the order shown, and the rows follow it
      assert.equal(end.toggle?.text, 'ascending');
      assert.deepEqual(
        end.rows.map(row => row.id),
        [0, 1, 2, 3]
      );
      await output.locator('button.widget-toggle-button').click();
      const sorted = await until(
        'the rows in descending order',
        v => v.toggle?.text === 'descending' && v.rows.map(row => row.id).join() === '3,2,1,0',
        { timeout: 30_000 }
      );
      assert.equal(sorted.range, end.range);
      await shot('05-descending');
      await output.locator('button.widget-toggle-button').click();
      await until(
        'the rows in ascending order again',
        v => v.toggle?.text === 'ascending' && v.rows.map(row => row.id).join() === '0,1,2,3',
        { timeout: 30_000 }
      );

      // what the worker wrote to fd 2: one collapsed section, that expands to the line
      const folded = await until('the worker output accordion', v => v.sections.length > 0, {
        timeout: 30_000
      });
      t.diagnostic(`worker output: ${JSON.stringify(folded.sections)}`);
      assert.ok(
        folded.sections.every(s => /^worker output: local-\d+ \(\d+ lines?\)$/.test(s.title)),
        `unexpected titles: ${folded.sections.map(s => s.title)}`
      );
      assert.ok(
        folded.sections.every(s => !s.open),
        'the worker output is not collapsed'
      );
      const writer = output.locator('.jupyter-widget-Collapse', {
        hasText: FD2_LINE
      });
      assert.equal(await writer.count(), 1, 'no single worker section holds the fd-2 line');
      await writer.locator('.jupyter-widget-Collapse-header').click();
      const opened = await until(
        'the worker output section to open',
        v => v.sections.some(s => s.open && s.body.includes(FD2_LINE)),
        { timeout: 30_000 }
      );
      await writer.scrollIntoViewIfNeeded();
      await shot('06-worker-output');
      assert.ok(opened.sections.filter(s => s.open).length === 1);
    } catch (err) {
      console.log('--- reached: ' + JSON.stringify(snapshots));
      console.log('--- jupyter server log (tail) ---\n' + server.log().slice(-6000));
      throw err;
    }
  }
);
