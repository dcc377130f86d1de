// A throwaway JupyterLab or Notebook 7 server for the browser tests: free port, no token, everything it writes
// (notebooks, settings, workspaces, runtime files, the maggy store) under one temporary folder.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VENV_BIN = join(REPO, '.venv', 'bin');

/** The repository's venv first on PATH: the python3 kernelspec runs `python` from PATH. */
function environment(extra) {
  const path = existsSync(VENV_BIN) ? `${VENV_BIN}:${process.env.PATH}` : process.env.PATH;
  return { ...process.env, PATH: path, ...extra };
}

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/**
 * Start `jupyter lab`; resolves once /api/status answers. `notebooks` maps file names to
 * notebook JSON written into the server's root before it starts (no XSRF dance needed).
 */
export function startJupyterLab({ notebooks = {}, timeoutMs = 180_000 } = {}) {
  return startServer('lab', { notebooks, timeoutMs });
}

/**
 * Start Notebook 7 (`jupyter notebook`), the same throwaway way as `startJupyterLab`: free port,
 * no token, root dir, settings, workspaces, runtime files and MAGGY_HOME under one temporary
 * folder, news and update checks off. Pages: `${url}/tree`, `${url}/notebooks/<file>`.
 */
export function startNotebook7({ notebooks = {}, timeoutMs = 180_000 } = {}) {
  return startServer('notebook', { notebooks, timeoutMs });
}

/** The settings traits of each app (JupyterLab's LabApp, Notebook 7's JupyterNotebookApp). */
const APP_CLASS = { lab: 'LabApp', notebook: 'JupyterNotebookApp' };

async function startServer(app, { notebooks, timeoutMs }) {
  const appClass = APP_CLASS[app];
  const base = mkdtempSync(join(tmpdir(), 'maggy-ui-'));
  const dirs = {};
  for (const name of ['root', 'maggy_home', 'app_settings', 'user_settings', 'workspaces', 'runtime']) {
    dirs[name] = join(base, name);
    mkdirSync(dirs[name]);
  }
  // no news or update toasts over the panel (and no network calls for them)
  writeFileSync(
    join(dirs.app_settings, 'overrides.json'),
    JSON.stringify({
      '@jupyterlab/apputils-extension:notification': { checkForUpdates: false, fetchNews: 'false' }
    })
  );
  for (const [name, content] of Object.entries(notebooks)) {
    writeFileSync(join(dirs.root, name), JSON.stringify(content));
  }
  const port = await freePort();
  const env = environment({
    MAGGY_HOME: dirs.maggy_home,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    PYTHONUNBUFFERED: '1'
  });
  const args = [
    app,
    '--no-browser',
    `--port=${port}`,
    '--ServerApp.port_retries=0',
    '--ServerApp.ip=127.0.0.1',
    '--ServerApp.token=',
    '--ServerApp.password=',
    '--allow-root',
    `--ServerApp.root_dir=${dirs.root}`,
    `--${appClass}.app_settings_dir=${dirs.app_settings}`,
    `--${appClass}.user_settings_dir=${dirs.user_settings}`,
    `--${appClass}.workspaces_dir=${dirs.workspaces}`
  ];
  const proc = spawn('jupyter', args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = chunk => {
    log = (log + chunk.toString()).slice(-200_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`jupyter ${app} exited with ${proc.exitCode}:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/api/status`);
      if (res.ok) {
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jupyter ${app} did not answer within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise(r => setTimeout(r, 250));
  }

  async function stop() {
    await kill();
    rmSync(base, { recursive: true, force: true }); // notebooks, store, settings: all throwaway
  }

  async function kill() {
    if (proc.exitCode !== null) {
      return;
    }
    const exited = new Promise(r => proc.once('exit', r));
    try {
      process.kill(-proc.pid, 'SIGTERM'); // the server and the kernels it started
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 15_000);
    await exited;
    clearTimeout(timer);
  }

  return { url, dirs, env, stop, log: () => log };
}

/** A notebook with one code cell per source string. */
export function notebook(...sources) {
  return {
    cells: sources.map(source => ({
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source
    })),
    metadata: {
      kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
}

/** Status, result and trial states of the experiment named `name`, from the store the kernel wrote. */
export function storedTrials(server, name) {
  const code = [
    'import json, sys',
    'from maggy.store import open_store',
    'with open_store() as s:',
    `    exp = next(e for e in s.list_experiments() if e.name == ${JSON.stringify(name)})`,
    '    trials = s.get_trials(exp.experiment_id)',
    '    states = {t.trial_id: t.state.value for t in trials}',
    '    json.dump({"status": exp.status, "result": exp.result, "trials": states}, sys.stdout)'
  ].join('\n');
  const out = execFileSync('python', ['-c', code], { env: server.env, encoding: 'utf8' });
  return JSON.parse(out);
}

/** Chromium's flags for headless runs on this kind of machine (no sandbox, no GPU, no network chatter). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage'
];

/** The Chromium that browser tests drive: Debian's package, or $CHROMIUM. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * A headless Chromium and one page on it, as every browser test here starts: page errors logged,
 * "leave the page?" dialogs accepted. The caller closes the browser.
 */
export async function openPage({ viewport = { width: 1500, height: 950 }, args = [] } = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args]
  });
  const page = await browser.newPage({ viewport });
  page.on('pageerror', err => console.log('[page error]', err.message));
  page.on('dialog', dialog => dialog.accept());
  return { browser, page };
}
