import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';

import { ExperimentsModel, Need } from './model';
import {
  COMM_TARGET,
  HELLO,
  IAck,
  IAnalysisReply,
  KernelMessage as MaggyMessage,
  parseKernelMessage,
  Request,
  requests
} from './protocol';
import { DEFAULT_SETTINGS } from './tokens';

/**
 * The panel's only I/O: the `maggy` comms with one kernel (unit tests mock this module).
 *
 * Two kinds of comm, as docs/protocol.md describes:
 * - the *session* comm, opened here on every kernel connection (and after a restart), carries
 *   requests and their replies;
 * - *stream* comms, opened by the kernel when an experiment starts (target `maggy`, registered
 *   here on each kernel the panel follows), carry that experiment's batches.
 * Every payload goes through `parseKernelMessage` into the model; replies also settle the
 * promise of their request. The model's `needs` turn into `subscribe` / `get_trial` requests.
 */

export interface IConnectionOptions {
  /** Stored experiments to list. */
  historyLimit?: number;
  /** Import maggy_jupyter's bridge in a kernel that lacks the `maggy` comm target. */
  autoConnect?: boolean;
  requestTimeoutMs?: number;
}

/** What a kernel must offer (a subset of Kernel.IKernelConnection, so tests can fake it). */
export type IKernelLike = Pick<
  Kernel.IKernelConnection,
  | 'id'
  | 'name'
  | 'status'
  | 'statusChanged'
  | 'createComm'
  | 'registerCommTarget'
  | 'removeCommTarget'
  | 'requestExecute'
>;

/** Silent code that registers the comm target; harmless where maggy is not installed. */
export const CONNECT_CODE =
  "try:\n    __import__('maggy_jupyter.comm_bridge')\nexcept ImportError:\n    pass\n";

/** A request dropped because the panel left that kernel (not worth a warning). */
export class KernelChangedError extends Error {
  constructor() {
    super('the panel no longer follows that kernel');
  }
}

interface IPending {
  resolve: (msg: MaggyMessage) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class MaggyConnection implements IDisposable {
  constructor(model: ExperimentsModel, options: IConnectionOptions = {}) {
    this._model = model;
    this.historyLimit = options.historyLimit ?? DEFAULT_SETTINGS.historyLimit;
    this.autoConnect = options.autoConnect ?? DEFAULT_SETTINGS.autoConnect;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60000;
    model.needs.connect(this._onNeed, this);
  }

  historyLimit: number;
  autoConnect: boolean;
  requestTimeoutMs: number;

  get kernel(): IKernelLike | null {
    return this._kernel;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this.setKernel(null);
    this._model.needs.disconnect(this._onNeed, this);
    this._disposed = true;
  }

  /** Follow `kernel` (null: none). Re-registers the comm target and reconnects. */
  setKernel(kernel: IKernelLike | null): void {
    if (kernel === this._kernel) {
      return;
    }
    const old = this._kernel;
    if (old !== null) {
      old.statusChanged.disconnect(this._onStatus, this);
      old.removeCommTarget(COMM_TARGET, this._onKernelComm);
    }
    this._kernel = kernel;
    this._dropComms(); // closes ours on the old kernel, so it stops streaming to this page
    this._model.reset(kernel?.id ?? null);
    this._model.setConnection(
      kernel ? 'connecting' : 'no-kernel',
      kernel?.name ?? ''
    );
    if (kernel !== null) {
      kernel.statusChanged.connect(this._onStatus, this);
      kernel.registerCommTarget(COMM_TARGET, this._onKernelComm);
      void this.connect();
    }
  }

  /** Open the session comm (importing the bridge first if allowed and needed), then list. */
  async connect(loadBridge = false): Promise<void> {
    const kernel = this._kernel;
    if (kernel === null) {
      return;
    }
    if (loadBridge) {
      await this._loadBridge(kernel);
    }
    if (kernel !== this._kernel) {
      return;
    }
    const opened = await this._openSession(kernel);
    if (kernel !== this._kernel) {
      return;
    }
    if (
      !opened &&
      this.autoConnect &&
      !loadBridge &&
      kernel.name.startsWith('python')
    ) {
      return this.connect(true);
    }
    if (!opened) {
      this._model.setConnection('unavailable');
      return;
    }
    await this.refresh().catch(err => console.warn('maggy: list failed', err));
  }

  /** Ask for the experiment list again. */
  async refresh(): Promise<void> {
    await this.request(id => requests.list(id, this.historyLimit));
  }

  stopTrial(experimentId: string, trialId: number): Promise<IAck> {
    return this.request(
      id => requests.stopTrial(id, experimentId, trialId),
      experimentId
    ) as Promise<IAck>;
  }

  stopExperiment(experimentId: string): Promise<IAck> {
    return this.request(
      id => requests.stopExperiment(id, experimentId),
      experimentId
    ) as Promise<IAck>;
  }

  /** Every analysis of one experiment's trials so far (the analysis tab draws it). */
  analysis(experimentId: string): Promise<IAnalysisReply> {
    return this.request(
      id => requests.analysis(id, experimentId),
      experimentId
    ) as Promise<IAnalysisReply>;
  }

  /**
   * Send a request; resolves with its reply (rejects on an `error` reply, a timeout or a
   * kernel change). Experiment-scoped requests fall back to that experiment's stream comm
   * when the session comm is not open.
   */
  request(
    build: (requestId: string) => Request,
    experimentId?: string
  ): Promise<MaggyMessage> {
    const comm =
      this._session ??
      (experimentId ? this._streams.get(experimentId) : undefined);
    if (comm === undefined || comm === null) {
      return Promise.reject(new Error('not connected to a kernel with maggy'));
    }
    const requestId = `r${++this._counter}`;
    const payload = build(requestId);
    return new Promise<MaggyMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(requestId);
        reject(
          new Error(
            `no reply to ${payload.type} within ${this.requestTimeoutMs} ms`
          )
        );
      }, this.requestTimeoutMs);
      this._pending.set(requestId, { resolve, reject, timer });
      comm.send(payload as unknown as JSONObject);
    });
  }

  /** Registered as the `maggy` comm target: the kernel opened a stream for an experiment. */
  private _onKernelComm = (
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void => {
    const snapshot = parseKernelMessage(msg.content.data);
    if (snapshot === null || snapshot.type !== 'experiment') {
      comm.close(); // not something this panel speaks
      return;
    }
    const experimentId = snapshot.experiment.experiment_id;
    this._streams.set(experimentId, comm);
    comm.onMsg = m => this._onPayload(m.content.data);
    comm.onClose = () => {
      if (this._streams.get(experimentId) === comm) {
        this._streams.delete(experimentId);
      }
    };
    this._model.handle(snapshot);
    if (this._session === null && this._model.status === 'unavailable') {
      void this.connect(); // the bridge is there now: open the session comm
    }
  };

  private _onPayload(data: unknown): void {
    const msg = parseKernelMessage(data);
    if (msg === null) {
      return; // unknown or malformed: ignored, as the protocol says
    }
    const requestId = 'request_id' in msg ? msg.request_id : undefined;
    const pending =
      typeof requestId === 'string' ? this._pending.get(requestId) : undefined;
    if (pending !== undefined) {
      this._pending.delete(requestId as string);
      clearTimeout(pending.timer);
      if (msg.type === 'error') {
        pending.reject(new Error(msg.reason));
      } else {
        pending.resolve(msg);
      }
    }
    this._model.handle(msg);
  }

  private _openSession(kernel: IKernelLike): Promise<boolean> {
    this._closeSession();
    return new Promise<boolean>(resolve => {
      let comm: Kernel.IComm;
      try {
        comm = kernel.createComm(COMM_TARGET);
      } catch (err) {
        console.warn('maggy: cannot open a comm on this kernel', err);
        resolve(false);
        return;
      }
      this._opening = comm;
      let greeted = false;
      comm.onMsg = m => {
        if (this._opening !== comm && this._session !== comm) {
          return; // closed on our side: the panel left this kernel or reconnected
        }
        const msg = parseKernelMessage(m.content.data);
        if (!greeted && msg?.type === 'hello') {
          greeted = true;
          this._opening = null;
          this._session = comm;
          resolve(true);
        }
        this._onPayload(m.content.data);
      };
      comm.onClose = () => {
        if (this._session === comm) {
          this._session = null;
        }
        if (this._opening === comm) {
          this._opening = null;
        }
        if (!greeted) {
          resolve(false); // the kernel has no `maggy` target: it closed the comm at once
        }
      };
      comm.open({ ...HELLO });
    });
  }

  private async _loadBridge(kernel: IKernelLike): Promise<void> {
    try {
      await kernel.requestExecute({
        code: CONNECT_CODE,
        silent: true,
        store_history: false,
        allow_stdin: false,
        stop_on_error: false
      }).done;
    } catch (err) {
      console.warn('maggy: could not load the bridge in the kernel', err);
    }
  }

  private _onStatus(kernel: IKernelLike, status: Kernel.Status): void {
    if (
      status === 'restarting' ||
      status === 'autorestarting' ||
      status === 'dead'
    ) {
      // the kernel's comms are gone; the page's are disposed by the kernel connection
      this._dropComms();
      this._model.reset();
      this._model.setConnection('connecting');
      this._restarting = true;
    } else if (status === 'idle' && this._restarting) {
      this._restarting = false;
      kernel.removeCommTarget(COMM_TARGET, this._onKernelComm);
      kernel.registerCommTarget(COMM_TARGET, this._onKernelComm);
      void this.connect();
    }
  }

  private _onNeed(_: ExperimentsModel, need: Need): void {
    const done = (p: Promise<unknown>) =>
      p.catch(err => {
        if (!(err instanceof KernelChangedError)) {
          console.warn(`maggy: ${need.kind} request failed:`, err.message);
        }
      });
    if (need.kind === 'experiment') {
      const key = `e:${need.experimentId}`;
      if (this._inFlight.has(key)) {
        return; // one snapshot at a time per experiment
      }
      this._inFlight.add(key);
      void done(
        this.request(
          id => requests.subscribe(id, need.experimentId),
          need.experimentId
        )
      ).finally(() => this._inFlight.delete(key));
    } else {
      void done(
        this.request(
          id => requests.getTrial(id, need.experimentId, need.trialId),
          need.experimentId
        )
      );
    }
  }

  /** Close the session comm, and one still waiting for its `hello`. */
  private _closeSession(): void {
    const comms = [this._session, this._opening];
    this._session = this._opening = null;
    for (const comm of comms) {
      if (comm !== null) {
        closeQuietly(comm);
      }
    }
  }

  private _dropComms(): void {
    this._closeSession();
    for (const comm of this._streams.values()) {
      closeQuietly(comm);
    }
    this._streams.clear();
    for (const [id, pending] of this._pending) {
      clearTimeout(pending.timer);
      pending.reject(new KernelChangedError());
      this._pending.delete(id);
    }
    this._inFlight.clear();
  }

  private _model: ExperimentsModel;
  private _kernel: IKernelLike | null = null;
  private _session: Kernel.IComm | null = null;
  /** The session comm opened and not yet greeted by the kernel's `hello`. */
  private _opening: Kernel.IComm | null = null;
  private _streams = new Map<string, Kernel.IComm>();
  private _pending = new Map<string, IPending>();
  private _inFlight = new Set<string>();
  private _counter = 0;
  private _restarting = false;
  private _disposed = false;
}

/** Close a comm whose kernel may already be gone (closing then throws; nothing to tell it). */
function closeQuietly(comm: Kernel.IComm): void {
  try {
    if (!comm.isDisposed) {
      comm.close();
    }
  } catch {
    // the kernel is dead or restarting: its end of the comm is gone anyway
  }
}
