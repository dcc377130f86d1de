import { Widget } from '@lumino/widgets';

import { MaggyConnection } from '../comm';
import { ExperimentsModel } from '../model';
import { ExperimentHeader } from '../views/experimentHeader';
import { ExperimentList } from '../views/experimentList';
import { TrialTable } from '../views/trialTable';
import { batch, EXP, snapshot, summary, trial } from './fixtures';

jest.mock('../comm'); // the views must talk to the kernel only through the connection

function setup() {
  const model = new ExperimentsModel();
  const actions = new MaggyConnection(model) as jest.Mocked<MaggyConnection>;
  actions.stopTrial.mockResolvedValue({ v: 1, type: 'ack', ok: true });
  actions.stopExperiment.mockResolvedValue({ v: 1, type: 'ack', ok: true });
  model.handle(snapshot(0, [trial(0, { params: { lr: 0.01, units: 32 } }), trial(1)]));
  model.handle(
    batch(1, {
      points: { '0': [[4, 0.75]] },
      finished: [trial(1, { state: 'EARLY_STOPPED', metric: 0.2 })]
    })
  );
  return { model, actions };
}

function attached<T extends Widget>(widget: T): T {
  Widget.attach(widget, document.body);
  return widget;
}

describe('TrialTable', () => {
  it('shows each trial and a stop button only on running ones', () => {
    const { model, actions } = setup();
    const table = attached(new TrialTable(model, actions));
    table.render();
    const rows = [...table.node.querySelectorAll<HTMLTableRowElement>('tbody tr')];
    expect(rows.map(r => r.dataset.state)).toEqual(['RUNNING', 'EARLY_STOPPED']);
    expect(rows[0].cells[3].textContent).toBe('0.75');
    expect(rows[0].cells[4].textContent).toBe('4');
    expect(rows[0].cells[6].textContent).toBe('lr=0.01, units=32');
    const buttons = rows.map(r => r.querySelector('button')!);
    expect(buttons.map(b => b.hidden)).toEqual([false, true]);
  });

  it('stops a trial through the connection, not by selecting the row', () => {
    const { model, actions } = setup();
    const table = attached(new TrialTable(model, actions));
    table.render();
    table.node.querySelector<HTMLButtonElement>('tr[data-trial-id="0"] button')!.click();
    expect(actions.stopTrial).toHaveBeenCalledWith(EXP, 0);
    expect(model.selectedTrialId).toBeNull();
    table.node.querySelector<HTMLElement>('tr[data-trial-id="1"]')!.click();
    expect(model.selectedTrialId).toBe(1);
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
        experiment_finished: { status: 'FINISHED', result: { best_id: 0, best_val: 0.8 } }
      })
    );
    header.render();
    expect(header.node.querySelector('.maggy-Header-best')!.textContent).toBe('best 0.8 (trial 0)');
    expect(header.node.querySelector('button')!.hidden).toBe(true);
  });
});

describe('ExperimentList', () => {
  it('lists experiments and selects one on click', () => {
    const { model } = setup();
    model.handle({
      v: 1,
      type: 'experiments',
      experiments: [summary({ experiment_id: 'old', name: 'older', live: false, status: 'FINISHED' })]
    });
    const list = attached(new ExperimentList(model));
    list.render();
    const items = [...list.node.querySelectorAll<HTMLElement>('li')];
    expect(items.map(i => i.dataset.experimentId)).toEqual([EXP, 'old']);
    expect(items[0].textContent).toContain('1/4 trials');
    items[1].click();
    expect(model.selectedId).toBe('old');
  });
});

describe('ExperimentHeader failure', () => {
  const WORKER_TRACEBACK = [
    'Traceback (most recent call last):',
    '  File "/x/maggy/worker/invoke.py", line 45, in call_training_function',
    '    return fn(**kwargs)',
    '  File "<ipython-input-2>", line 3, in train',
    "    raise ValueError('bad')",
    'ValueError: bad'
  ].join('\n');

  it('shows why every trial failed with the first error, maggy frames left out', () => {
    const model = new ExperimentsModel();
    const actions = new MaggyConnection(model) as jest.Mocked<MaggyConnection>;
    model.handle(snapshot(0, [trial(0), trial(1)], summary({ num_trials: 2 })));
    const header = attached(new ExperimentHeader(model, actions));
    header.render();
    const box = header.node.querySelector<HTMLElement>('.maggy-Header-failure')!;
    expect(box.hidden).toBe(true);
    model.handle(
      batch(1, {
        finished: [trial(1, { state: 'ERROR', end: 5, error: WORKER_TRACEBACK })]
      })
    );
    header.render();
    expect(box.hidden).toBe(false);
    expect(box.dataset.failed).toBe('false');
    expect(box.textContent).toContain('warning: every trial so far failed (1)');
    const failure = 'all 2 trials failed; first error (trial 1): ValueError: bad';
    model.handle(
      batch(2, {
        finished: [trial(0, { state: 'ERROR', end: 6, error: WORKER_TRACEBACK })],
        experiment_finished: { status: 'FAILED', result: { status: 'FAILED', failure } }
      })
    );
    header.render();
    expect(box.dataset.failed).toBe('true');
    expect(box.querySelector('.maggy-Header-failureText')!.textContent).toBe(`failed: ${failure}`);
    const shown = box.querySelector('pre')!.textContent!;
    expect(shown).toContain('trial 1:\n');
    expect(shown).toContain('  File "<ipython-input-2>", line 3, in train\n');
    expect(shown).not.toContain('maggy/worker');
    expect(header.node.querySelector('.maggy-Badge')!.className).toContain('maggy-Badge-failed');
  });

  it('says nothing for a stopped experiment whose only ended trial failed', () => {
    const model = new ExperimentsModel();
    const actions = new MaggyConnection(model) as jest.Mocked<MaggyConnection>;
    model.handle(snapshot(0, [trial(0), trial(1)], summary({ num_trials: 2 })));
    model.handle(
      batch(1, {
        finished: [
          trial(0, { state: 'ERROR', end: 5, error: WORKER_TRACEBACK }),
          trial(1, { state: 'STOPPED', end: 6 })
        ],
        experiment_finished: { status: 'STOPPED', result: { status: 'STOPPED', failure: null } }
      })
    );
    const header = attached(new ExperimentHeader(model, actions));
    header.render();
    expect(header.node.querySelector<HTMLElement>('.maggy-Header-failure')!.hidden).toBe(true);
  });

  it('shows a stored FAILED experiment with the reason from its summary', () => {
    const model = new ExperimentsModel();
    const actions = new MaggyConnection(model) as jest.Mocked<MaggyConnection>;
    const failure = 'the only trial failed (trial 0): ValueError: bad';
    model.handle(
      snapshot(
        0,
        [trial(0, { state: 'ERROR', end: 5, error: WORKER_TRACEBACK })],
        summary({ live: false, status: 'FAILED', failure })
      )
    );
    model.select(EXP);
    const header = attached(new ExperimentHeader(model, actions));
    header.render();
    const box = header.node.querySelector<HTMLElement>('.maggy-Header-failure')!;
    expect(box.textContent).toContain(`failed: ${failure}`);
    expect(box.querySelector('pre')!.textContent).toBe(
      'trial 0:\nTraceback (most recent call last):\n  File "<ipython-input-2>", line 3, in train\n' +
        "    raise ValueError('bad')\nValueError: bad"
    );
  });
});
