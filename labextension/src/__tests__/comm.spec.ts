import { CONNECT_CODE, MaggyConnection } from '../comm';
import { ExperimentsModel } from '../model';
import {
  batch,
  EXP,
  FakeKernel,
  settle,
  snapshot,
  summary,
  trial
} from './fixtures';

const made: MaggyConnection[] = [];
afterEach(() => made.splice(0).forEach(c => c.dispose())); // rejects pending requests, clears timers

function connected(kernel = new FakeKernel()) {
  const model = new ExperimentsModel();
  const connection = new MaggyConnection(model, {
    historyLimit: 7,
    requestTimeoutMs: 1000
  });
  made.push(connection);
  connection.setKernel(kernel.asKernel());
  return { model, connection, kernel };
}

describe('MaggyConnection', () => {
  it('registers the comm target, opens a session comm and lists experiments', async () => {
    const { model, kernel } = connected();
    await settle();
    expect(kernel.targets.has('maggy')).toBe(true);
    const session = kernel.comms[0];
    expect(session.targetName).toBe('maggy');
    expect(session.opened).toEqual({ v: 1, type: 'hello' });
    expect(session.sent[0]).toEqual({
      v: 1,
      type: 'list',
      request_id: 'r1',
      limit: 7
    });
    expect(model.status).toBe('connected');
  });

  it('sends stop requests and resolves them with the ack', async () => {
    const { connection, kernel } = connected();
    await settle();
    kernel.replies.stop_trial = req => ({
      v: 1,
      type: 'ack',
      request_id: req.request_id,
      ok: true
    });
    const ack = await connection.stopTrial(EXP, 3);
    expect(ack.ok).toBe(true);
    expect(kernel.comms[0].sent.at(-1)).toEqual({
      v: 1,
      type: 'stop_trial',
      request_id: 'r2',
      experiment_id: EXP,
      trial_id: 3
    });
  });

  it('rejects a request the kernel answers with an error', async () => {
    const { connection, kernel } = connected();
    await settle();
    kernel.replies.stop_experiment = req => ({
      v: 1,
      type: 'error',
      request_id: req.request_id,
      reason: 'not running in this kernel'
    });
    await expect(connection.stopExperiment(EXP)).rejects.toThrow(
      'not running in this kernel'
    );
  });

  it('feeds stream comms opened by the kernel into the model, ignoring unknown payloads', async () => {
    const { model, kernel } = connected();
    await settle();
    const stream = kernel.openStream(snapshot(0, [], summary()));
    stream.receive(
      batch(1, { started: [trial(0)], points: { '0': [[0, 0.5]] } })
    );
    stream.receive({ v: 1, type: 'from-the-future', seq: 2 });
    stream.receive({ v: 9, type: 'batch', experiment_id: EXP, seq: 2 });
    const exp = model.experiments.get(EXP)!;
    expect(exp.seq).toBe(1);
    expect(exp.trials.get(0)!.series.last).toEqual([0, 0.5]);
    expect(model.selectedId).toBe(EXP);
  });

  it('subscribes when the model needs an experiment, once at a time', async () => {
    const { model, kernel } = connected();
    await settle();
    model.handle(batch(5, {})); // unknown experiment: the model needs a snapshot
    model.handle(batch(6, {}));
    const subs = kernel.comms[0].sent.filter(m => m.type === 'subscribe');
    expect(subs).toEqual([
      { v: 1, type: 'subscribe', request_id: 'r2', experiment_id: EXP }
    ]);
  });

  it('re-registers the target and closes its comms when the kernel changes', async () => {
    const { connection, kernel } = connected();
    await settle();
    const stream = kernel.openStream(snapshot());
    const other = new FakeKernel('k2');
    connection.setKernel(other.asKernel());
    await settle();
    expect(kernel.targets.has('maggy')).toBe(false);
    expect(kernel.comms.every(c => c.isDisposed)).toBe(true);
    expect(stream.isDisposed).toBe(true);
    expect(other.targets.has('maggy')).toBe(true);
    expect(other.comms[0].opened).toEqual({ v: 1, type: 'hello' });
  });

  it('drops a session comm still opening when the kernel changes', async () => {
    // a slow kernel greets only after the panel moved on: that late hello once made the old
    // kernel's comm the session again, so requests went to the kernel the panel left
    const slow = new FakeKernel('slow');
    slow.onOpen = () => undefined; // no hello yet
    const { connection } = connected(slow);
    await settle();
    const opening = slow.comms[0];
    const other = new FakeKernel('k2');
    connection.setKernel(other.asKernel());
    await settle();
    expect(opening.isDisposed).toBe(true);
    opening.receive({ v: 1, type: 'hello', protocol: 1 });
    other.replies.stop_experiment = req => ({
      v: 1,
      type: 'ack',
      request_id: req.request_id,
      ok: true
    });
    await connection.stopExperiment(EXP);
    expect(opening.sent).toEqual([]);
    expect(other.comms[0].sent.at(-1)).toMatchObject({
      type: 'stop_experiment'
    });
  });

  it('reconnects after a kernel restart', async () => {
    const { model, kernel } = connected();
    await settle();
    model.handle(snapshot());
    kernel.setStatus('restarting');
    expect(model.experiments.size).toBe(0);
    expect(model.status).toBe('connecting');
    kernel.setStatus('starting');
    kernel.setStatus('idle');
    await settle();
    expect(kernel.targets.has('maggy')).toBe(true);
    expect(kernel.comms).toHaveLength(2);
    expect(model.status).toBe('connected');
  });

  it('loads the bridge quietly in a kernel without the target, then connects', async () => {
    const kernel = new FakeKernel();
    kernel.hasTarget = false;
    const { model } = connected(kernel);
    await settle();
    expect(kernel.executed).toEqual([CONNECT_CODE]);
    expect(model.status).toBe('connected');
  });

  it('says unavailable when the kernel still has no target (autoConnect off)', async () => {
    const kernel = new FakeKernel();
    kernel.hasTarget = false;
    const model = new ExperimentsModel();
    const connection = new MaggyConnection(model, { autoConnect: false });
    made.push(connection);
    connection.setKernel(kernel.asKernel());
    await settle();
    expect(kernel.executed).toEqual([]);
    expect(model.status).toBe('unavailable');
    // an experiment starting there proves the target exists now: the session comm follows
    kernel.hasTarget = true;
    kernel.openStream(snapshot());
    await settle();
    expect(model.status).toBe('connected');
  });

  it('times out a request the kernel never answers', async () => {
    const { connection, kernel } = connected();
    await settle();
    connection.requestTimeoutMs = 10;
    delete kernel.replies.list;
    await expect(connection.refresh()).rejects.toThrow('no reply to list');
  });
});
