import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { MaggyConnection } from '../comm';
import { ExperimentsModel } from '../model';
import { ExperimentHeader } from '../views/experimentHeader';
import { ExperimentList } from '../views/experimentList';
import { ChartView } from '../views/chart';
import { LazyView } from '../views/lazyView';
import { LogView } from '../views/logView';
import { PanelToolbar } from '../views/toolbar';
import { TrialTable } from '../views/trialTable';
import { batch, EXP, snapshot, summary, trial } from './fixtures';

jest.mock('../comm'); // the views must talk to the kernel only through the connection

function setup() {
  const model = new ExperimentsModel();
  const actions = new MaggyConnection(model) as jest.Mocked<MaggyConnection>;
  actions.stopTrial.mockResolvedValue({ v: 1, type: 'ack', ok: true });
  actions.stopExperiment.mockResolvedValue({ v: 1, type: 'ack', ok: true });
  model.handle(
    snapshot(0, [trial(0, { params: { lr: 0.01, units: 32 } }), trial(1)])
  );
  model.handle(
    batch(1, {
      points: { '0': [[4, 0.75]] },
      finished: [trial(1, { state: 'EARLY_STOPPED', metric: 0.2 })],
      summary: summary({ done: 1, running: 1 })
    })
  );
  return { model, actions };
}

function attached<T extends Widget>(widget: T): T {
  Widget.attach(widget, document.body);
  return widget;
}

/** The text colours the extension's stylesheet gives `node` (jsdom computes no `var()` colours). */
function greyedBy(node: Element): string[] {
  const style = document.createElement('style');
  style.textContent = readFileSync(
    join(__dirname, '..', '..', 'style', 'base.css'),
    'utf8'
  );
  document.head.append(style);
  try {
    return [...style.sheet!.cssRules]
      .filter(
        (rule): rule is CSSStyleRule =>
          rule instanceof CSSStyleRule && node.matches(rule.selectorText)
      )
      .map(rule => rule.style.color)
      .filter(color => Boolean(color));
  } finally {
    style.remove();
  }
}

describe('TrialTable', () => {
  it('shows each trial and a stop button only on running ones', () => {
    const { model, actions } = setup();
    const table = attached(new TrialTable(model, actions));
    table.render();
    const rows = [
      ...table.node.querySelectorAll<HTMLTableRowElement>('tbody tr')
    ];
    expect(rows.map(r => r.dataset.state)).toEqual([
      'RUNNING',
      'EARLY_STOPPED'
    ]);
    expect(rows[0].cells[3].textContent).toBe('0.75');
    expect(rows[0].cells[4].textContent).toBe('4');
    expect(rows[0].cells[6].textContent).toBe('lr=0.01, units=32');
    const buttons = rows.map(r => r.querySelector('button')!);
    expect(buttons.map(b => b.hidden)).toEqual([false, true]);
  });

  it("greys a resumed experiment's earlier trials, without a stop button", () => {
    const { model, actions } = setup();
    model.handle(
      batch(2, {
        experiment_started: {
          name: 'unit',
          num_trials: 4,
          num_workers: 1,
          earlier_trials: [trial(7, { state: 'RUNNING', earlier: true })]
        }
      })
    );
    const table = attached(new TrialTable(model, actions));
    table.render();
    const row = table.node.querySelector<HTMLTableRowElement>(
      'tr[data-trial-id="7"]'
    )!;
    expect(row.classList.contains('maggy-mod-earlier')).toBe(true);
    expect(row.querySelector('button')!.hidden).toBe(true);
    expect(row.title).toBe('from an earlier run of this experiment');
    const now = table.node.querySelector<HTMLTableRowElement>(
      'tr[data-trial-id="0"]'
    )!;
    expect(now.classList.contains('maggy-mod-earlier')).toBe(false);
    expect(now.title).toBe('');
    // greyed by the stylesheet (so themes can restyle it), not by an inline style
    expect(row.style.cssText).toBe('');
    expect(greyedBy(row)).toEqual(['var(--jp-ui-font-color3)']);
    expect(greyedBy(now)).toEqual([]);
  });

  it('stops a trial through the connection, not by selecting the row', () => {
    const { model, actions } = setup();
    const table = attached(new TrialTable(model, actions));
    table.render();
    table.node
      .querySelector<HTMLButtonElement>('tr[data-trial-id="0"] button')!
      .click();
    expect(actions.stopTrial).toHaveBeenCalledWith(EXP, 0);
    expect(model.selectedTrialId).toBeNull();
    table.node.querySelector<HTMLElement>('tr[data-trial-id="1"]')!.click();
    expect(model.selectedTrialId).toBe(1);
  });

  it('renders only the rows in view of 10,000 trials, and those where it is scrolled to', () => {
    const model = new ExperimentsModel();
    const actions = new MaggyConnection(model) as jest.Mocked<MaggyConnection>;
    actions.stopTrial.mockResolvedValue({ v: 1, type: 'ack', ok: true });
    model.handle(
      snapshot(
        0,
        Array.from({ length: 10_000 }, (_, id) =>
          trial(id, { state: 'FINISHED', metric: id / 10_000 })
        )
      )
    );
    const table = attached(new TrialTable(model, actions));
    let scrollTop = 0;
    Object.defineProperty(table.node, 'clientHeight', { get: () => 210 });
    Object.defineProperty(table.node, 'scrollTop', {
      get: () => scrollTop,
      set: v => (scrollTop = v)
    });
    const shown = () =>
      [
        ...table.node.querySelectorAll<HTMLElement>('tr.maggy-TrialTable-row')
      ].map(r => Number(r.dataset.trialId));
    const table0 = table.node.querySelector('table')!;
    table.render();
    let ids = shown();
    expect(ids[0]).toBe(0);
    expect(ids.length).toBeLessThan(40); // 10 rows in view, plus a margin either side
    expect(table.node.dataset.trials).toBe('10000');
    // the scroll height is the whole table's: rows not drawn are stood in for by margins
    expect(parseFloat(table0.style.marginBottom)).toBeGreaterThan(9_900 * 20);
    scrollTop = 5_000 * 23;
    table.render();
    ids = shown();
    expect(ids).toContain(5_000);
    expect(ids).toContain(5_009);
    expect(ids.length).toBeLessThan(40);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(parseFloat(table0.style.marginTop)).toBe(ids[0] * 23);
    // a row drawn again keeps its trial: its stop button stops that trial
    model.handle(
      batch(1, {
        started: [trial(10_000)],
        summary: summary({ running: 1 })
      })
    );
    scrollTop = 10_000 * 23;
    table.render();
    table.node
      .querySelector<HTMLButtonElement>('tr[data-trial-id="10000"] button')!
      .click();
    expect(actions.stopTrial).toHaveBeenCalledWith(EXP, 10_000);
  });

  it('shows long parameter names whole: in a tooltip, and wrapped for the selected trial', () => {
    const { model, actions } = setup();
    const long = 'ablated_component_with_a_rather_long_descriptive_name';
    model.handle(
      batch(2, {
        started: [
          trial(5, {
            params: {
              [long]: 'layer: dense_hidden_layer_1',
              learning_rate: 0.5
            }
          })
        ]
      })
    );
    const table = attached(new TrialTable(model, actions));
    table.render();
    const cell = table.node.querySelector<HTMLElement>(
      'tr[data-trial-id="5"] td.maggy-TrialTable-params'
    )!;
    expect(cell.title).toBe(
      `${long} = layer: dense_hidden_layer_1\nlearning_rate = 0.5`
    );
    const heads = [...table.node.querySelectorAll('th')].map(th => th.title);
    expect(heads).toContain(
      'parameters of the trial (hover a cell for each one whole)'
    );
    // the selected trial's parameters, whole, above its logs
    model.selectTrial(5);
    const logs = attached(new LogView(model));
    logs.render();
    const names = [
      ...logs.node.querySelectorAll<HTMLElement>('.maggy-LogView-param')
    ].map(p => p.textContent);
    expect(names).toEqual([
      `${long} = layer: dense_hidden_layer_1`,
      'learning_rate = 0.5'
    ]);
  });
});

describe('ExperimentHeader', () => {
  it('stops the experiment and shows the final best once it ended', () => {
    const { model, actions } = setup();
    const header = attached(new ExperimentHeader(model, actions));
    header.render();
    header.node.querySelector('button')!.click();
    expect(actions.stopExperiment).toHaveBeenCalledWith(EXP);
    model.handle(
      batch(2, {
        finished: [trial(0, { state: 'FINISHED', metric: 0.8 })],
        experiment_finished: {
          status: 'FINISHED',
          result: { best_id: 0, best_val: 0.8 }
        },
        summary: summary({
          status: 'FINISHED',
          live: false,
          done: 2,
          best: { trial_id: 0, metric: 0.8 }
        })
      })
    );
    header.render();
    const best = header.node.querySelector<HTMLElement>('.maggy-Header-best')!;
    expect(best.textContent).toBe('best 0.8 (trial 0)');
    expect(best.dataset.bestTrial).toBe('0');
    expect(
      header.node.querySelector('.maggy-Header-progress')!.textContent
    ).toBe('2/4 trials · direction max');
    expect(header.node.querySelector('button')!.hidden).toBe(true);
  });
});

describe('LazyView', () => {
  class Counting extends LazyView {
    renders = 0;
    render(): void {
      this.renders += 1;
    }
  }

  afterEach(() => jest.useRealTimers());

  it('renders once per frame however many changes came, at most once per minInterval', () => {
    jest.useFakeTimers();
    const view = attached(new Counting());
    jest.advanceTimersByTime(50);
    const first = view.renders;
    expect(first).toBe(1); // the attach
    view.minInterval = 100; // e.g. a chart at 10 redraws a second
    for (let ms = 0; ms < 1000; ms += 5) {
      view.markDirty();
      view.markDirty();
      jest.advanceTimersByTime(5);
    }
    jest.advanceTimersByTime(200);
    expect(view.renders - first).toBeGreaterThanOrEqual(8);
    expect(view.renders - first).toBeLessThanOrEqual(11);
    view.dispose();
  });

  it('does not render while hidden, and catches up when shown', () => {
    jest.useFakeTimers();
    const view = attached(new Counting());
    jest.advanceTimersByTime(50);
    view.hide();
    view.markDirty();
    jest.advanceTimersByTime(500);
    expect(view.renders).toBe(1);
    view.show();
    expect(view.renders).toBe(2);
    view.dispose();
  });
});

describe('translation', () => {
  // a "language" that upper-cases every label, to see which texts go through the translator
  const base = nullTranslator.load('maggy_jupyter');
  const shouting: ITranslator = {
    languageCode: 'xx',
    load: () =>
      Object.assign(Object.create(base), {
        __: (msgid: string, ...args: any[]) =>
          base.__(msgid.toUpperCase(), ...args)
      }) as TranslationBundle
  };

  it('labels the views through the ITranslator they are given', () => {
    const { model, actions } = setup();
    const header = attached(new ExperimentHeader(model, actions, shouting));
    header.render();
    expect(header.node.querySelector('button')!.textContent).toBe(
      'STOP EXPERIMENT'
    );
    expect(
      header.node.querySelector('.maggy-Header-progress')!.textContent
    ).toBe('1/4 TRIALS · 1 RUNNING · DIRECTION max');
    const table = attached(new TrialTable(model, actions, shouting));
    table.render();
    const columns = [...table.node.querySelectorAll('th')].map(
      th => th.textContent
    );
    expect(columns).toEqual(['', '#', 'STATE', 'METRIC', 'STEP', '', 'PARAMS']);
    const states = [...table.node.querySelectorAll('tbody tr')].map(
      row => (row as HTMLTableRowElement).cells[2].textContent
    );
    expect(states).toEqual(['RUNNING', 'EARLY-STOPPED']);
  });

  it('says the connection state in words through the translator', () => {
    const { model, actions } = setup();
    const toolbar = attached(new PanelToolbar(model, actions, shouting));
    model.setConnection('connected', 'python3');
    toolbar.render();
    expect(toolbar.node.dataset.status).toBe('connected');
    expect(
      toolbar.node.querySelector('.maggy-Toolbar-kernel')!.textContent
    ).toBe('python3 · CONNECTED');
    model.setConnection('unavailable');
    toolbar.render();
    expect(
      toolbar.node.querySelector('.maggy-Toolbar-kernel')!.textContent
    ).toBe('python3 · NOT AVAILABLE');
  });
});

describe('ExperimentList', () => {
  it('lists experiments and selects one on click', () => {
    const { model } = setup();
    model.handle({
      v: 1,
      type: 'experiments',
      experiments: [
        summary({
          experiment_id: 'old',
          name: 'older',
          live: false,
          status: 'FINISHED'
        })
      ]
    });
    const list = attached(new ExperimentList(model));
    list.render();
    const items = [...list.node.querySelectorAll<HTMLElement>('li')];
    expect(items.map(i => i.dataset.experimentId)).toEqual([EXP, 'old']);
    expect(items[0].textContent).toContain('1/4 trials');
    items[1].click();
    expect(model.selectedId).toBe('old');
  });

  it('names each experiment whole in a tooltip where its name is cut', () => {
    const { model } = setup();
    const name = 'ablation-study-of-the-titanic-classifier-with-every-feature';
    model.handle(snapshot(0, [], summary({ name })));
    const list = attached(new ExperimentList(model));
    list.render();
    const shown = list.node.querySelector<HTMLElement>(
      '.maggy-ExperimentList-name'
    )!;
    expect(shown.title).toBe(`${name} (${EXP})`);
    const header = attached(
      new ExperimentHeader(model, new MaggyConnection(model))
    );
    header.render();
    expect(
      header.node.querySelector<HTMLElement>('.maggy-Header-name')!.title
    ).toBe(`${name} (${EXP})`);
  });
});

describe('ChartView', () => {
  /** Each canvas's drawing calls (jsdom has no canvas): lineTo and clearRect counts. */
  const drawn = new Map<HTMLCanvasElement, { lineTo: number; clear: number }>();
  let getContext: unknown;
  beforeAll(() => {
    getContext = HTMLCanvasElement.prototype.getContext;
    (HTMLCanvasElement.prototype as any).getContext = function (
      this: HTMLCanvasElement
    ) {
      const calls = { lineTo: 0, clear: 0 };
      drawn.set(this, calls);
      const noop = () => undefined;
      return {
        setTransform: noop,
        clearRect: () => void calls.clear++,
        beginPath: noop,
        moveTo: noop,
        lineTo: () => void calls.lineTo++,
        stroke: noop,
        fillText: noop,
        save: noop,
        restore: noop,
        setLineDash: noop
      };
    };
  });
  afterAll(() => {
    (HTMLCanvasElement.prototype as any).getContext = getContext;
  });

  it('redraws only the running trials when 10,000 ended ones did not change', () => {
    const model = new ExperimentsModel();
    const history = Array.from(
      { length: 50 },
      (_, s) => [s, s / 50] as [number, number]
    );
    model.handle(
      snapshot(0, [
        ...Array.from({ length: 10_000 }, (_, id) => ({
          ...trial(id, { state: 'FINISHED', metric: 0.5 }),
          history
        })),
        { ...trial(10_000), history: [[0, 0.5] as [number, number]] }
      ])
    );
    const chart = attached(new ChartView(model));
    Object.defineProperty(chart.node, 'clientWidth', { get: () => 330 });
    Object.defineProperty(chart.node, 'clientHeight', { get: () => 220 });
    const [back, front] = [...chart.node.querySelectorAll('canvas')];
    const count = () => {
      chart.render();
      const b = drawn.get(back)!;
      const f = drawn.get(front)!;
      const out = { back: b.lineTo, front: f.lineTo };
      b.lineTo = f.lineTo = 0;
      return out;
    };
    const first = count();
    expect(first.back).toBeGreaterThan(40_000); // the axes and 10,000 lines, thinned
    expect(chart.node.dataset.lines).toBe('10001');
    // the running trial reports a point: only the front canvas is drawn again
    model.handle(batch(1, { points: { '10000': [[1, 0.6]] } }));
    const next = count();
    expect(next.back).toBe(0);
    expect(next.front).toBeGreaterThan(0);
    expect(chart.node.dataset.backDraws).toBe('1');
    // it ends: added to the back canvas on its own, the others stay as drawn
    model.handle(
      batch(2, {
        finished: [trial(10_000, { state: 'FINISHED', metric: 0.6 })],
        summary: summary({ done: 10_001 })
      })
    );
    const ended = count();
    expect(ended.back).toBeGreaterThan(0);
    expect(ended.back).toBeLessThan(10);
    expect(chart.node.dataset.backDraws).toBe('1');
    // selecting a trial fades the others: everything is drawn again
    model.selectTrial(3);
    count();
    expect(chart.node.dataset.backDraws).toBe('2');
  });
});

describe('ExperimentHeader failure', () => {
  // the kernel's first_error: already the tail, maggy's frames already removed
  const TAIL = [
    'Traceback (most recent call last):',
    '  File "<ipython-input-2>", line 3, in train',
    "    raise ValueError('bad')",
    'ValueError: bad'
  ].join('\n');

  function header(model: ExperimentsModel): ExperimentHeader {
    const actions = new MaggyConnection(model) as jest.Mocked<MaggyConnection>;
    const view = attached(new ExperimentHeader(model, actions));
    view.render();
    return view;
  }

  it("shows the kernel's warning, then its failure, with the first error as sent", () => {
    const model = new ExperimentsModel();
    model.handle(snapshot(0, [trial(0), trial(1)], summary({ num_trials: 2 })));
    const view = header(model);
    const box = view.node.querySelector<HTMLElement>('.maggy-Header-failure')!;
    expect(box.hidden).toBe(true);
    const warning = 'every trial so far failed (1)';
    model.handle(
      batch(1, {
        finished: [
          trial(1, { state: 'ERROR', end: 5, error: 'long traceback' })
        ],
        summary: summary({
          num_trials: 2,
          done: 1,
          running: 1,
          warning,
          first_error: { trial_id: 1, text: TAIL }
        })
      })
    );
    view.render();
    expect(box.hidden).toBe(false);
    expect(box.dataset.failed).toBe('false');
    expect(box.textContent).toContain(`warning: ${warning}`);
    expect(box.querySelector('pre')!.textContent).toBe(`trial 1:\n${TAIL}`);
    const failure =
      'all 2 trials failed; first error (trial 1): ValueError: bad';
    model.handle(
      batch(2, {
        finished: [
          trial(0, { state: 'ERROR', end: 6, error: 'long traceback' })
        ],
        experiment_finished: {
          status: 'FAILED',
          result: { status: 'FAILED', failure }
        },
        summary: summary({
          num_trials: 2,
          status: 'FAILED',
          live: false,
          done: 2,
          failure,
          first_error: { trial_id: 1, text: TAIL }
        })
      })
    );
    view.render();
    expect(box.dataset.failed).toBe('true');
    expect(box.querySelector('.maggy-Header-failureText')!.textContent).toBe(
      `failed: ${failure}`
    );
    expect(box.querySelector('pre')!.textContent).toBe(`trial 1:\n${TAIL}`);
    expect(view.node.querySelector('.maggy-Badge')!.className).toContain(
      'maggy-Badge-failed'
    );
  });

  it('warns only when the kernel does, whatever the trials look like', () => {
    // every ended trial failed, but the kernel sent no warning: the panel once computed
    // "every trial so far failed" itself and could disagree with the notebook's views
    const model = new ExperimentsModel();
    model.handle(
      snapshot(
        0,
        [trial(0, { state: 'ERROR', end: 5, error: TAIL })],
        summary({ done: 1 })
      )
    );
    const view = header(model);
    expect(
      view.node.querySelector<HTMLElement>('.maggy-Header-failure')!.hidden
    ).toBe(true);
  });

  it('says nothing for a stopped experiment whose only ended trial failed', () => {
    const model = new ExperimentsModel();
    model.handle(snapshot(0, [trial(0), trial(1)], summary({ num_trials: 2 })));
    model.handle(
      batch(1, {
        finished: [
          trial(0, { state: 'ERROR', end: 5, error: TAIL }),
          trial(1, { state: 'STOPPED', end: 6 })
        ],
        experiment_finished: {
          status: 'STOPPED',
          result: { status: 'STOPPED', failure: null }
        },
        summary: summary({
          num_trials: 2,
          status: 'STOPPED',
          live: false,
          done: 2
        })
      })
    );
    const view = header(model);
    expect(
      view.node.querySelector<HTMLElement>('.maggy-Header-failure')!.hidden
    ).toBe(true);
  });

  it('shows a stored FAILED experiment with the reason from its summary', () => {
    const model = new ExperimentsModel();
    const failure = 'the only trial failed (trial 0): ValueError: bad';
    model.handle(
      snapshot(
        0,
        [trial(0, { state: 'ERROR', end: 5, error: 'long traceback' })],
        summary({
          live: false,
          status: 'FAILED',
          failure,
          first_error: { trial_id: 0, text: TAIL }
        })
      )
    );
    model.select(EXP);
    const box = header(model).node.querySelector<HTMLElement>(
      '.maggy-Header-failure'
    )!;
    expect(box.textContent).toContain(`failed: ${failure}`);
    expect(box.querySelector('pre')!.textContent).toBe(`trial 0:\n${TAIL}`);
  });

  it('shows a FAILED experiment without a first error without the error box', () => {
    const model = new ExperimentsModel();
    model.handle(
      snapshot(0, [], summary({ live: false, status: 'FAILED', failure: null }))
    );
    model.select(EXP);
    const box = header(model).node.querySelector<HTMLElement>(
      '.maggy-Header-failure'
    )!;
    expect(box.textContent).toBe('failed: the experiment failed');
    expect(box.querySelector('pre')!.hidden).toBe(true);
  });
});
