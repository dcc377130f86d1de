import { Signal } from '@lumino/signaling';

import type { IKernelLike } from '../comm';
import {
  IBatch,
  IExperimentSnapshot,
  IExperimentSummary,
  IWireTrial
} from '../protocol';

export const EXP = '20260101-000000-abcdef';

export function summary(
  overrides: Partial<IExperimentSummary> = {}
): IExperimentSummary {
  return {
    experiment_id: EXP,
    name: 'unit',
    status: 'RUNNING',
    direction: 'max',
    num_trials: 4,
    start: 100,
    end: null,
    live: true,
    done: 0,
    running: 0,
    best: null,
    ...overrides
  };
}

export function trial(
  id: number,
  overrides: Partial<IWireTrial> = {}
): IWireTrial {
  return {
    trial_id: id,
    params: { lr: 0.1 },
    state: 'RUNNING',
    metric: null,
    start: 1,
    end: null,
    error: null,
    ...overrides
  };
}

export function snapshot(
  seq = 0,
  trials: IWireTrial[] = [],
  s = summary()
): IExperimentSnapshot {
  return { v: 1, type: 'experiment', experiment: s, trials, seq };
}

export function batch(seq: number, parts: Partial<IBatch> = {}): IBatch {
  return { v: 1, type: 'batch', experiment_id: EXP, seq, ...parts };
}

/** A comm of the fake kernel: records what the panel sends; `receive` plays the kernel. */
export class FakeComm {
  constructor(
    readonly kernel: FakeKernel,
    readonly targetName: string,
    readonly commId: string
  ) {}
  opened: unknown = undefined;
  sent: any[] = [];
  isDisposed = false;
  onMsg: (msg: any) => void = () => undefined;
  onClose: (msg: any) => void = () => undefined;

  open(data: unknown) {
    this.opened = data;
    this.kernel.onOpen(this);
    return {};
  }
  send(data: unknown) {
    this.sent.push(data);
    this.kernel.onSend(this, data);
    return {};
  }
  close() {
    if (!this.isDisposed) {
      this.isDisposed = true;
      this.onClose({});
    }
  }
  receive(data: unknown) {
    this.onMsg({ content: { comm_id: this.commId, data } });
  }
}

/**
 * Just enough of a kernel connection. With `hasTarget` it greets a session comm with `hello`
 * (as the bridge does); without, it closes it (as ipykernel does for an unknown target).
 * `replies` answers requests by type.
 */
export class FakeKernel {
  constructor(
    public id = 'k1',
    public name = 'python3'
  ) {}
  status = 'idle';
  hasTarget = true;
  statusChanged = new Signal<any, string>(this);
  targets = new Map<string, (comm: any, msg: any) => void>();
  comms: FakeComm[] = [];
  executed: string[] = [];
  replies: Record<string, (req: any) => unknown> = {
    list: req => ({
      v: 1,
      type: 'experiments',
      request_id: req.request_id,
      experiments: []
    })
  };

  createComm(target: string) {
    const comm = new FakeComm(this, target, `c${this.comms.length}`);
    this.comms.push(comm);
    return comm;
  }
  registerCommTarget(name: string, cb: (comm: any, msg: any) => void) {
    this.targets.set(name, cb);
  }
  removeCommTarget(name: string, cb: unknown) {
    if (this.targets.get(name) === cb) {
      this.targets.delete(name);
    }
  }
  requestExecute(content: { code: string }) {
    this.executed.push(content.code);
    this.hasTarget = true; // importing the bridge registers the target
    return { done: Promise.resolve({ content: { status: 'ok' } }) };
  }
  onOpen(comm: FakeComm) {
    if (this.hasTarget) {
      comm.receive({ v: 1, type: 'hello', protocol: 1 });
    } else {
      comm.close();
    }
  }
  onSend(comm: FakeComm, data: any) {
    const reply = this.replies[data.type]?.(data);
    if (reply !== undefined) {
      comm.receive(reply);
    }
  }
  /** The kernel opens a stream comm for an experiment (as `comm_bridge.attach` does). */
  openStream(data: unknown): FakeComm {
    const comm = new FakeComm(this, 'maggy', `k${this.comms.length}`);
    this.comms.push(comm);
    this.targets.get('maggy')!(comm, {
      content: { comm_id: comm.commId, data }
    });
    return comm;
  }
  setStatus(status: string) {
    this.status = status;
    this.statusChanged.emit(status);
  }
  asKernel(): IKernelLike {
    return this as unknown as IKernelLike;
  }
}

/** Let pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}
