import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import type { IKernelLike } from '../comm';
import { followActiveKernel, IShellLike } from '../follow';
import { ExperimentsModel } from '../model';
import { StatusItem } from '../views/statusItem';
import { EXP, snapshot, summary } from './fixtures';

/**
 * The status bar talks about the followed kernel's experiment only: the store's history (another
 * notebook's experiments, the CLI demo's) is listed in the panel but never shown there. And the
 * kernel followed is the current notebook's or console's.
 */

const CLI = '20260101-120000-cli000';

/** A kernel's list reply: this kernel runs nothing, the store holds the CLI demo's experiment. */
function listStored(model: ExperimentsModel): void {
  model.handle({
    v: 1,
    type: 'experiments',
    experiments: [
      summary({
        experiment_id: CLI,
        name: 'cli-demo',
        live: false,
        status: 'FINISHED',
        done: 12,
        num_trials: 12,
        best: { trial_id: 1, metric: 0.92 }
      })
    ]
  });
}

function statusOf(model: ExperimentsModel): string {
  const item = new StatusItem(model, () => undefined, nullTranslator);
  item.render();
  return item.node.textContent ?? '';
}

describe('the status bar experiment (ExperimentsModel.current)', () => {
  it("is none in a fresh notebook whose kernel ran nothing, though the store lists the CLI demo's", () => {
    const model = new ExperimentsModel();
    listStored(model);
    expect(model.selectedId).toBe(CLI); // the panel still shows the history
    expect(model.current()).toBeNull();
    expect(statusOf(model)).toBe('');
  });

  it('after a reload, is the ended experiment the kernel says it ran (kernel: true in its list)', () => {
    const model = new ExperimentsModel();
    model.handle({
      v: 1,
      type: 'experiments',
      experiments: [
        summary({
          experiment_id: CLI,
          name: 'cli-demo',
          live: false,
          status: 'FINISHED',
          kernel: false
        }),
        summary({
          experiment_id: EXP,
          live: false,
          status: 'FINISHED',
          done: 4,
          kernel: true
        })
      ]
    });
    expect(model.current()?.summary.experiment_id).toBe(EXP);
    expect(statusOf(model)).toMatch(/maggy: 4\/4 trials/);
  });

  it('is the experiment running in this kernel, and stays it after it ends', () => {
    const model = new ExperimentsModel();
    listStored(model);
    model.handle(snapshot(0, [], summary({ done: 1, running: 2 })));
    expect(model.current()?.summary.experiment_id).toBe(EXP);
    expect(statusOf(model)).toBe('maggy: 1/4 trials, 2 running');
    model.handle({
      v: 1,
      type: 'batch',
      experiment_id: EXP,
      seq: 1,
      experiment_finished: { status: 'FINISHED', result: null },
      summary: summary({
        live: false,
        status: 'FINISHED',
        done: 4,
        running: 0,
        best: { trial_id: 2, metric: 0.5 }
      })
    });
    model.select(CLI); // looking at the history in the panel does not change the status bar
    expect(model.current()?.summary.experiment_id).toBe(EXP);
    expect(statusOf(model)).toBe('maggy: 4/4 trials, best 0.5');
    // the list the panel asks for afterwards has it as stored: still this kernel's
    listStored(model);
    expect(model.current()?.summary.experiment_id).toBe(EXP);
  });

  it("prefers the selected one of this kernel's experiments, a running one over an ended one", () => {
    const model = new ExperimentsModel();
    const other = 'k-second';
    model.handle(snapshot(0, [], summary({ start: 10 })));
    model.handle(
      snapshot(0, [], summary({ experiment_id: other, start: 20, live: true }))
    );
    model.select(EXP);
    expect(model.current()?.summary.experiment_id).toBe(EXP);
    model.select(CLI);
    expect(model.current()?.summary.experiment_id).toBe(other); // the newest running
  });

  it("is another kernel's own when the panel follows it, and this one's again on coming back", () => {
    const model = new ExperimentsModel();
    model.reset('k1');
    model.handle(snapshot(0, [], summary()));
    expect(model.current()).not.toBeNull();
    const ended = () =>
      model.handle({
        v: 1,
        type: 'experiments',
        experiments: [summary({ live: false, status: 'FINISHED' })]
      }); // the experiment ended meanwhile: every kernel lists it as stored
    model.reset('k2');
    ended();
    expect(model.selectedId).toBe(EXP);
    expect(model.current()).toBeNull();
    model.reset('k1');
    ended();
    expect(model.current()?.summary.experiment_id).toBe(EXP);
    model.reset(); // k1 restarted: still the notebook's experiment
    ended();
    expect(model.current()?.summary.experiment_id).toBe(EXP);
  });
});

/** A notebook or console panel: a widget with a session context. */
class FakeSessionWidget extends Widget {
  constructor(kernel: IKernelLike | null) {
    super();
    this.sessionContext = {
      session: { kernel },
      kernelChanged: new Signal<any, any>(this),
      disposed: new Signal<any, void>(this),
      isDisposed: false
    };
  }
  readonly sessionContext: {
    session: { kernel: IKernelLike | null };
    kernelChanged: Signal<any, any>;
    disposed: Signal<any, void>;
    isDisposed: boolean;
  };
  closeIt(): void {
    this.sessionContext.isDisposed = true;
    this.sessionContext.disposed.emit();
    this.dispose();
  }
}

class FakeShell implements IShellLike {
  currentWidget: Widget | null = null;
  currentChanged = new Signal<this, unknown>(this);
  activate(widget: Widget | null): void {
    this.currentWidget = widget;
    this.currentChanged.emit({ newValue: widget });
  }
}

const kernel = (id: string) => ({ id }) as unknown as IKernelLike;

describe('followActiveKernel', () => {
  it("follows the current notebook's or console's kernel and keeps it over other documents", () => {
    const shell = new FakeShell();
    const seen: (string | null)[] = [];
    const nbA = new FakeSessionWidget(kernel('a'));
    const consoleB = new FakeSessionWidget(kernel('b'));
    shell.currentWidget = nbA;
    followActiveKernel(shell, null, k => seen.push(k?.id ?? null));
    expect(seen).toEqual(['a']);
    shell.activate(consoleB);
    shell.activate(new Widget()); // a text editor: no kernel of its own
    shell.activate(nbA);
    shell.activate(nbA);
    expect(seen).toEqual(['a', 'b', 'a']);
  });

  it('follows a kernel change of the current notebook and its closing', () => {
    const shell = new FakeShell();
    const tracker = {
      currentWidget: null as FakeSessionWidget | null,
      currentChanged: new Signal<any, unknown>({})
    };
    const seen: (string | null)[] = [];
    const nbA = new FakeSessionWidget(kernel('a'));
    const nbB = new FakeSessionWidget(kernel('b'));
    followActiveKernel(shell, tracker, k => seen.push(k?.id ?? null));
    shell.activate(nbA);
    (nbA.sessionContext.session as any).kernel = kernel('a2');
    nbA.sessionContext.kernelChanged.emit({});
    tracker.currentWidget = nbB; // nbB is open in the background
    nbA.closeIt(); // back to the notebook the tracker knows
    tracker.currentWidget = null;
    nbB.closeIt();
    expect(seen).toEqual([null, 'a', 'a2', 'b', null]);
  });

  it('follows the notebook tracker alone where there is no lab shell (Notebook 7)', () => {
    const tracker = {
      currentWidget: null as FakeSessionWidget | null,
      currentChanged: new Signal<any, FakeSessionWidget | null>({})
    };
    const seen: (string | null)[] = [];
    followActiveKernel(null, tracker, k => seen.push(k?.id ?? null));
    const nb = new FakeSessionWidget(kernel('n'));
    tracker.currentWidget = nb;
    tracker.currentChanged.emit(nb);
    expect(seen).toEqual([null, 'n']);
  });
});
