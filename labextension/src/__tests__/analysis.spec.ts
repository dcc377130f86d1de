import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { ExperimentsModel } from '../model';
import {
  IAnalysis,
  IAnalysisReply,
  parseKernelMessage,
  requests
} from '../protocol';
import { AnalysisRenderer } from '../views/analysisRender';
import { AnalysisView, IAnalysisSource } from '../views/analysisView';
import {
  ExperimentHeader,
  OPEN_ANALYSIS_EVENT
} from '../views/experimentHeader';
import { ABLATION, OPTIMIZATION } from './analysisFixtures';
import { batch, EXP, snapshot, summary, trial } from './fixtures';

const trans = nullTranslator.load('maggy_jupyter');

function draw(payload: IAnalysis): AnalysisRenderer {
  const root = document.createElement('div');
  document.body.append(root);
  const renderer = new AnalysisRenderer(root, trans);
  renderer.render(payload);
  return renderer;
}

function section(r: AnalysisRenderer, plot: string): HTMLElement {
  const found = r.root.querySelector<HTMLElement>(`[data-plot="${plot}"]`);
  expect(found).not.toBeNull();
  return found!;
}

function reply(
  analysis: IAnalysis,
  overrides: Partial<IAnalysisReply> = {}
): IAnalysisReply {
  return {
    v: 1,
    type: 'analysis',
    experiment_id: EXP,
    live: true,
    status: 'RUNNING',
    analysis,
    ...overrides
  };
}

describe('the analysis payload on the wire', () => {
  it('builds the request and accepts the reply', () => {
    expect(requests.analysis('r1', EXP)).toEqual({
      v: 1,
      type: 'analysis',
      request_id: 'r1',
      experiment_id: EXP
    });
    expect(parseKernelMessage(reply(OPTIMIZATION))?.type).toBe('analysis');
    const { history: _, ...broken } = OPTIMIZATION;
    expect(parseKernelMessage(reply(broken as IAnalysis))).toBeNull();
    expect(
      parseKernelMessage(reply({ ...OPTIMIZATION, version: 2 }))
    ).toBeNull();
  });
});

describe('AnalysisRenderer', () => {
  it('draws one mark per trial the payload holds, in every plot', () => {
    const r = draw(OPTIMIZATION);
    const plots = [...r.root.querySelectorAll<HTMLElement>('[data-plot]')].map(
      s => s.dataset.plot
    );
    expect(plots).toEqual(['history', 'importance', 'parallel', 'slices']);

    const history = section(r, 'history');
    const dots = history.querySelectorAll('.maggy-Analysis-dot');
    expect(dots).toHaveLength(OPTIMIZATION.history.x.length); // 10 ended with a metric
    expect(dots[0].getAttribute('data-trial')).toBe('0');
    expect(
      history.querySelector('.maggy-Analysis-dot[data-trial="5"]')!.classList
    ).toContain('maggy-Analysis-state-early_stopped');
    const best = history.querySelector('.maggy-Analysis-best')!;
    // one step per change of the best: M, then H and V per later point, then to the end
    expect(best.getAttribute('d')!.match(/H/g)).toHaveLength(
      OPTIMIZATION.history.best_x.length
    );

    // drawn under the dots: every dot, the best one too, gets the pointer
    expect(
      best.compareDocumentPosition(dots[0]) & Node.DOCUMENT_POSITION_FOLLOWING
    ).toBeTruthy();

    const parallel = section(r, 'parallel');
    const lines = parallel.querySelectorAll('.maggy-Analysis-line');
    expect(lines).toHaveLength(9);
    // the best trial's line is drawn last (on top), in the ramp's best colour
    const top = lines[lines.length - 1];
    expect(top.getAttribute('data-trial')).toBe('9');
    expect(top.getAttribute('stroke')).toBe('rgb(253,231,37)');
    // one axis per param and the metric's, labelled with the payload's ticks
    expect(parallel.querySelectorAll('.maggy-Axis')).toHaveLength(5);
    expect(parallel.textContent).toContain('relu');
    expect(top.getAttribute('d')!.split(/[ML]/).filter(Boolean)).toHaveLength(
      5
    );

    const bars = section(r, 'importance').querySelectorAll(
      '.maggy-Analysis-bar'
    );
    expect([...bars].map(b => b.getAttribute('data-param'))).toEqual([
      'x',
      'n',
      'lr',
      'act'
    ]);
    expect(section(r, 'importance').textContent).toContain('77.7%');

    const slices = section(r, 'slices').querySelectorAll<HTMLElement>(
      '.maggy-Analysis-slice'
    );
    expect([...slices].map(s => s.dataset.param)).toEqual([
      'x',
      'lr',
      'act',
      'n'
    ]);
    for (const s of slices) {
      expect(s.querySelectorAll('.maggy-Analysis-sliceDot')).toHaveLength(9);
    }
    expect(slices[2].textContent).toContain('tanh'); // a categorical's choices as ticks
  });

  it("hovering a mark shows its trial's id, metric and params", () => {
    const r = draw(OPTIMIZATION);
    expect(r.tooltip.hidden).toBe(true);
    const dot = r.root.querySelector('.maggy-Analysis-dot[data-trial="9"]')!;
    dot.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(r.tooltip.hidden).toBe(false);
    expect(r.tooltip.dataset.trial).toBe('9');
    expect(r.tooltip.textContent!.split('\n')).toEqual([
      'trial 9 · metric 2.781',
      'x = 0.927',
      'lr = 0.00177',
      'act = relu',
      'n = 3'
    ]);
    const line = r.root.querySelector('.maggy-Analysis-line[data-trial="2"]')!;
    line.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(r.tooltip.textContent).toContain('trial 2 · metric 2.367');
    expect(r.tooltip.textContent).toContain('x = 0.789');
    const slice = r.root.querySelector(
      '[data-param="act"] .maggy-Analysis-sliceDot[data-trial="1"]'
    )!;
    slice.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(r.tooltip.textContent).toContain('act = tanh');
    const bar = r.root.querySelector('.maggy-Analysis-bar')!;
    bar.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(r.tooltip.textContent).toMatch(/^x: 77\.7% of the explained/);
    r.root
      .querySelector('h3')!
      .dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(r.tooltip.hidden).toBe(true);
  });

  it("draws an ablation's deltas first, red where removing the component hurt", () => {
    const r = draw(ABLATION);
    const first = r.root.querySelector<HTMLElement>('[data-plot]')!;
    expect(first.dataset.plot).toBe('ablation');
    const bars = first.querySelectorAll('.maggy-Analysis-delta');
    expect([...bars].map(b => b.getAttribute('data-trial'))).toEqual([
      '1',
      '2'
    ]);
    expect(bars[0].classList).toContain('maggy-mod-hurt');
    expect(bars[1].classList).toContain('maggy-mod-helped');
    expect(first.textContent).toContain('most important: feature:pclass');
    expect(first.textContent).toContain(
      'base (nothing removed): 0.8 (trial 0)'
    );
    bars[0].dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(r.tooltip.textContent).toContain('ablated = feature:pclass');
  });

  it('says so when thinned, and draws an empty experiment without failing', () => {
    const thinned = {
      ...OPTIMIZATION,
      history: { ...OPTIMIZATION.history, total: 10000 }
    };
    expect(section(draw(thinned), 'history').textContent).toContain(
      'showing 10 of 10000 trials'
    );
    const empty: IAnalysis = {
      ...OPTIMIZATION,
      trials: 0,
      params: {},
      history: {
        x: [],
        trial_ids: [],
        values: [],
        states: [],
        best_x: [],
        best_y: [],
        best_id: null,
        total: 0
      },
      parallel: {
        axes: [],
        trial_ids: [],
        rows: [],
        metric: [],
        metric_range: null,
        total: 0
      },
      importance: { importances: {}, std: {}, n_trials: 0, method: '' },
      slices: []
    };
    const r = draw(empty);
    expect(r.root.querySelectorAll('.maggy-Analysis-empty')).toHaveLength(4);
  });
});

describe('AnalysisView', () => {
  class FakeSource implements IAnalysisSource {
    calls: string[] = [];
    replies: IAnalysisReply[] = [];
    analysis(experimentId: string): Promise<IAnalysisReply> {
      this.calls.push(experimentId);
      return Promise.resolve(this.replies.shift() ?? reply(OPTIMIZATION));
    }
  }

  const flush = () =>
    new Promise(resolve => jest.requireActual('timers').setImmediate(resolve));

  afterEach(() => jest.useRealTimers());

  it('is a tab titled after the experiment that asks again at most every 2 s as trials end', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const model = new ExperimentsModel();
    model.handle(snapshot(0, [trial(0), trial(1)]));
    const source = new FakeSource();
    const view = new AnalysisView(model, source, EXP, nullTranslator);
    Widget.attach(view, document.body);
    expect(view.title.label).toBe('Analysis: unit');
    expect(view.title.closable).toBe(true);
    await flush();
    expect(source.calls).toEqual([EXP]);
    expect(view.node.querySelectorAll('.maggy-Analysis-dot')).toHaveLength(10);
    expect(view.node.textContent).toContain('running: updates as trials end');

    // points alone change nothing worth a new analysis
    model.handle(batch(1, { points: { '0': [[1, 0.5]] } }));
    jest.advanceTimersByTime(5000);
    expect(source.calls).toHaveLength(1);

    // a trial ends: asked again, but not before 2 s after the last request
    model.handle(
      batch(2, {
        finished: [trial(0, { state: 'FINISHED', metric: 1 })],
        summary: summary({ done: 1, running: 1 })
      })
    );
    await flush();
    expect(source.calls).toHaveLength(2); // the last request was > 2 s ago
    model.handle(
      batch(3, {
        finished: [trial(1, { state: 'FINISHED', metric: 2 })],
        summary: summary({ done: 2, running: 0 })
      })
    );
    jest.advanceTimersByTime(1900);
    expect(source.calls).toHaveLength(2);
    jest.advanceTimersByTime(200);
    await flush();
    expect(source.calls).toHaveLength(3);

    // the experiment ends: one last analysis, then the tab stops asking
    source.replies.push(
      reply(OPTIMIZATION, { live: false, status: 'FINISHED' })
    );
    model.handle(
      batch(4, {
        experiment_finished: { status: 'FINISHED', result: null },
        summary: summary({
          done: 2,
          running: 0,
          live: false,
          status: 'FINISHED'
        })
      })
    );
    jest.advanceTimersByTime(2100);
    await flush();
    expect(source.calls).toHaveLength(4);
    expect(view.following).toBe(false);
    expect(view.node.textContent).toContain('finished');
    model.handle(
      snapshot(0, [], summary({ done: 3, live: false, status: 'FINISHED' }))
    );
    jest.advanceTimersByTime(5000);
    expect(source.calls).toHaveLength(4);
    view.dispose();
  });

  it('shows why when the kernel cannot answer', async () => {
    const model = new ExperimentsModel();
    const source: IAnalysisSource = {
      analysis: () => Promise.reject(new Error("experiment 'x' not found"))
    };
    const view = new AnalysisView(model, source, 'x', nullTranslator);
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(view.title.label).toBe('Analysis: x');
    expect(view.node.textContent).toContain(
      "The kernel could not give the analysis: experiment 'x' not found"
    );
    view.dispose();
  });
});

describe("the header's Analysis button", () => {
  it('asks for the selected experiment’s analysis tab', () => {
    const model = new ExperimentsModel();
    model.handle(snapshot(0, [trial(0)]));
    model.select(EXP);
    const actions = {
      stopTrial: jest.fn(),
      stopExperiment: jest.fn(),
      refresh: jest.fn(),
      connect: jest.fn()
    };
    const header = new ExperimentHeader(model, actions, nullTranslator);
    Widget.attach(header, document.body);
    header.render();
    const asked: string[] = [];
    document.body.addEventListener(OPEN_ANALYSIS_EVENT, e =>
      asked.push((e as CustomEvent).detail.experimentId)
    );
    const button = header.node.querySelector<HTMLButtonElement>(
      '.maggy-AnalysisButton'
    )!;
    expect(button.textContent).toBe('Analysis');
    button.click();
    expect(asked).toEqual([EXP]);
    header.dispose();
  });
});
