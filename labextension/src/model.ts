import { ISignal, Signal } from '@lumino/signaling';

import { applyBatch, emptyExperiment, newTrial, trialFields } from './fold';
import {
  IBatch,
  IExperimentSnapshot,
  IExperimentSummary,
  ITrialReply,
  IWireTrial,
  KernelMessage
} from './protocol';
import { TrialSeries } from './series';
import { DEFAULT_SETTINGS, IMaggySettings } from './tokens';

/**
 * What the Experiments panel knows, fed only by protocol messages (`handle`) and user choices
 * (`select`, `selectTrial`). Pure: no kernel, no DOM. When it lacks data it says so through
 * `needs` (the comm layer answers with a request) instead of asking the kernel itself.
 *
 * Ordering contract with the kernel: batches of one experiment carry consecutive `seq`; a
 * snapshot carries the `seq` of the last batch it includes. A batch at or below the known seq is
 * a duplicate (the page may hold two comms for one experiment) and is ignored; a gap means this
 * page missed batches, so the experiment is marked unsynced and a new snapshot is asked for.
 * An experiment resumed under its id (`lagom(..., resume=id)`) stays one entry: its new run's
 * snapshot replaces what was known, and a new run's `experiment_started` batch seen before
 * that snapshot (its `seq` restarts at 1) is a gap, not a duplicate.
 */

export type ConnectionStatus =
  | 'no-kernel'
  | 'connecting'
  | 'connected'
  /** The kernel has no `maggy` comm target (maggy_jupyter not imported there yet). */
  | 'unavailable';

/** A trial as the panel holds it: the wire's fields plus its bounded curve and logs. */
export interface ITrial extends Pick<
  IWireTrial,
  'params' | 'state' | 'metric' | 'start' | 'end' | 'error'
> {
  readonly id: number;
  series: TrialSeries;
  logs: string[];
  /** Log lines held by the kernel; may exceed logs.length until `get_trial` answers. */
  numLogs: number;
  logsLoaded: boolean;
  /** From a resumed experiment's earlier runs: shown greyed, never stoppable. */
  earlier: boolean;
}

export interface IExperiment {
  summary: IExperimentSummary;
  trials: Map<number, ITrial>;
  seq: number;
  /** Holds a snapshot and every batch since: safe to apply the next batch. */
  synced: boolean;
  result: Record<string, unknown> | null;
  /** Bumped on every change of data: views redraw when it moved. */
  revision: number;
}

export type Need =
  | { kind: 'experiment'; experimentId: string }
  | { kind: 'trial'; experimentId: string; trialId: number };

export type IModelOptions = Partial<
  Pick<IMaggySettings, 'maxPointsPerTrial' | 'maxLogLines'>
>;

export class ExperimentsModel {
  /** Memory bounds from `options`, else the settings' defaults. */
  constructor(options: IModelOptions = {}) {
    this.maxPointsPerTrial =
      options.maxPointsPerTrial ?? DEFAULT_SETTINGS.maxPointsPerTrial;
    this.maxLogLines = options.maxLogLines ?? DEFAULT_SETTINGS.maxLogLines;
  }

  maxPointsPerTrial: number;
  maxLogLines: number;

  readonly experiments = new Map<string, IExperiment>();

  get status(): ConnectionStatus {
    return this._status;
  }
  get kernelName(): string {
    return this._kernelName;
  }
  /** The followed kernel's id ('' for none). */
  get kernelId(): string {
    return this._kernelId;
  }
  get lastError(): string | null {
    return this._lastError;
  }
  get selectedId(): string | null {
    return this._selectedId;
  }
  get selectedTrialId(): number | null {
    return this._selectedTrialId;
  }
  get selected(): IExperiment | null {
    return this._selectedId === null
      ? null
      : (this.experiments.get(this._selectedId) ?? null);
  }

  /** The experiment list changed (membership, order, status or counts). */
  get listChanged(): ISignal<this, void> {
    return this._listChanged;
  }
  /** One experiment's data changed; the argument is its id. */
  get experimentChanged(): ISignal<this, string> {
    return this._experimentChanged;
  }
  get selectionChanged(): ISignal<this, void> {
    return this._selectionChanged;
  }
  get statusChanged(): ISignal<this, void> {
    return this._statusChanged;
  }
  /** Data the model lacks; the comm layer requests it. */
  get needs(): ISignal<this, Need> {
    return this._needs;
  }

  /** Experiments to list: running ones first, then newest first. */
  list(): IExperimentSummary[] {
    const all = [...this.experiments.values()].map(e => e.summary);
    return all.sort(
      (a, b) =>
        Number(b.live) - Number(a.live) || (b.start ?? 0) - (a.start ?? 0)
    );
  }

  /**
   * The experiment the status bar talks about: one of the followed kernel's (see `ofKernel`),
   * never one of the store's history (another notebook's, the CLI's). The selected one if it
   * runs, else the newest running one, else the selected one, else the newest that ran here;
   * null when this kernel ran none.
   */
  current(): IExperiment | null {
    const selected = this.selected;
    const own =
      selected !== null && this.ofKernel(selected.summary.experiment_id);
    if (own && selected.summary.live) {
      return selected;
    }
    const live = this.list().find(s => s.live);
    if (live) {
      return this.experiments.get(live.experiment_id) ?? null;
    }
    if (own) {
      return selected;
    }
    const ran = this.list().find(s => this.ofKernel(s.experiment_id));
    return ran ? (this.experiments.get(ran.experiment_id) ?? null) : null;
  }

  /**
   * Whether the experiment ran in the followed kernel: this page saw it live there (listed
   * live, a live snapshot or a batch), or the kernel's list says so (`kernel`: it ran there
   * and ended, e.g. before the page was reloaded).
   */
  ofKernel(experimentId: string): boolean {
    return this._ranIn.get(this._kernelId)?.has(experimentId) ?? false;
  }

  private _markOfKernel(experimentId: string): void {
    let ran = this._ranIn.get(this._kernelId);
    if (ran === undefined) {
      ran = new Set();
      this._ranIn.set(this._kernelId, ran);
    }
    ran.add(experimentId);
  }

  setConnection(status: ConnectionStatus, kernelName?: string): void {
    if (
      status === this._status &&
      (kernelName ?? this._kernelName) === this._kernelName
    ) {
      return;
    }
    this._status = status;
    if (kernelName !== undefined) {
      this._kernelName = kernelName;
    }
    this._statusChanged.emit();
  }

  /**
   * Forget everything shown: the panel now follows the kernel `kernelId` (undefined: the same
   * kernel, restarted). Which experiments ran in each kernel is kept per kernel id, so coming
   * back to a notebook finds the experiment it ran, ended since (see `ofKernel`).
   */
  reset(kernelId?: string | null): void {
    if (kernelId !== undefined) {
      this._kernelId = kernelId ?? '';
    }
    this.experiments.clear();
    this._selectedId = null;
    this._selectedTrialId = null;
    this._lastError = null;
    this._listChanged.emit();
    this._selectionChanged.emit();
  }

  select(experimentId: string | null): void {
    if (experimentId === this._selectedId) {
      return;
    }
    this._selectedId = experimentId;
    this._selectedTrialId = null;
    this._selectionChanged.emit();
    const exp =
      experimentId === null ? undefined : this.experiments.get(experimentId);
    if (exp && !exp.synced) {
      this._needs.emit({
        kind: 'experiment',
        experimentId: exp.summary.experiment_id
      });
    }
  }

  selectTrial(trialId: number | null): void {
    if (trialId === this._selectedTrialId) {
      return;
    }
    this._selectedTrialId = trialId;
    this._selectionChanged.emit();
    const exp = this.selected;
    const trial = trialId === null ? undefined : exp?.trials.get(trialId);
    if (exp && trial && !trial.logsLoaded) {
      this._needs.emit({
        kind: 'trial',
        experimentId: exp.summary.experiment_id,
        trialId: trial.id
      });
    }
  }

  /** Apply one message from the kernel (already checked by `parseKernelMessage`). */
  handle(msg: KernelMessage): void {
    switch (msg.type) {
      case 'hello':
        this.setConnection('connected');
        break;
      case 'experiments':
        this._onList(msg.experiments);
        break;
      case 'experiment':
        this._onSnapshot(msg);
        break;
      case 'batch':
        this._onBatch(msg);
        break;
      case 'trial':
        this._onTrial(msg);
        break;
      case 'error':
        this._lastError = msg.reason;
        this._statusChanged.emit();
        break;
      default:
        break; // acks are the comm layer's business
    }
  }

  private _onList(summaries: IExperimentSummary[]): void {
    const listed = new Set<string>();
    for (const summary of summaries) {
      listed.add(summary.experiment_id);
      if (summary.live || summary.kernel) {
        this._markOfKernel(summary.experiment_id);
      }
      const known = this.experiments.get(summary.experiment_id);
      if (known?.synced && known.summary.live) {
        continue; // the stream is fresher than the list
      }
      if (known) {
        known.summary = summary;
      } else {
        this.experiments.set(summary.experiment_id, emptyExperiment(summary));
      }
      if (summary.live) {
        this._needs.emit({
          kind: 'experiment',
          experimentId: summary.experiment_id
        });
      }
    }
    for (const [id, exp] of this.experiments) {
      if (!listed.has(id) && !exp.synced) {
        this.experiments.delete(id);
      }
    }
    if (this._selectedId === null && summaries.length > 0) {
      this.select(this.list()[0].experiment_id);
    }
    this._listChanged.emit();
  }

  private _onSnapshot(msg: IExperimentSnapshot): void {
    const id = msg.experiment.experiment_id;
    if (msg.experiment.live) {
      this._markOfKernel(id);
    }
    const exp = emptyExperiment(msg.experiment);
    for (const wire of msg.trials) {
      const trial = this._newTrial(wire);
      for (const point of wire.history ?? []) {
        trial.series.push(point);
      }
      exp.trials.set(trial.id, trial);
    }
    exp.seq = msg.seq;
    exp.synced = true;
    exp.revision = (this.experiments.get(id)?.revision ?? 0) + 1;
    this.experiments.set(id, exp);
    const selected = this.selected;
    if (msg.experiment.live && (selected === null || !selected.summary.live)) {
      this.select(id); // follow the experiment that just started
    }
    this._experimentChanged.emit(id);
    this._listChanged.emit();
  }

  private _onBatch(batch: IBatch): void {
    const id = batch.experiment_id;
    const exp = this.experiments.get(id);
    if (exp === undefined || !exp.synced || batch.seq > exp.seq + 1) {
      if (exp !== undefined) {
        exp.synced = false;
      }
      this._needs.emit({ kind: 'experiment', experimentId: id });
      return;
    }
    if (batch.seq <= exp.seq) {
      if (batch.experiment_started && !exp.summary.live) {
        // the experiment ended and starts again (resumed): its new run, not a repeat
        exp.synced = false;
        this._needs.emit({ kind: 'experiment', experimentId: id });
      }
      return; // already applied (second comm for the same experiment)
    }
    this._markOfKernel(id); // batches come only from the followed kernel's running experiments
    applyBatch(exp, batch, this);
    exp.seq = batch.seq;
    exp.revision += 1;
    this._experimentChanged.emit(id);
    this._listChanged.emit();
  }

  private _onTrial(msg: ITrialReply): void {
    const exp = this.experiments.get(msg.experiment_id);
    if (exp === undefined) {
      return;
    }
    let trial = exp.trials.get(msg.trial.trial_id);
    if (trial === undefined) {
      trial = this._newTrial(msg.trial);
      exp.trials.set(trial.id, trial);
    }
    Object.assign(trial, trialFields(msg.trial));
    if (!exp.summary.live && msg.trial.history) {
      trial.series = new TrialSeries(this.maxPointsPerTrial);
      msg.trial.history.forEach(p => trial!.series.push(p));
    }
    trial.logs = (msg.trial.logs ?? []).slice(-this.maxLogLines);
    trial.numLogs = msg.trial.logs?.length ?? trial.numLogs;
    trial.logsLoaded = true;
    exp.revision += 1;
    this._experimentChanged.emit(msg.experiment_id);
  }

  private _newTrial(wire: IWireTrial): ITrial {
    return newTrial(wire, this);
  }

  private _status: ConnectionStatus = 'no-kernel';
  private _kernelName = '';
  private _lastError: string | null = null;
  private _selectedId: string | null = null;
  private _selectedTrialId: number | null = null;
  /** The followed kernel's id ('' for none or unknown). */
  private _kernelId = '';
  /** Kernel id -> experiments seen running in it. */
  private _ranIn = new Map<string, Set<string>>();
  private _listChanged = new Signal<this, void>(this);
  private _experimentChanged = new Signal<this, string>(this);
  private _selectionChanged = new Signal<this, void>(this);
  private _statusChanged = new Signal<this, void>(this);
  private _needs = new Signal<this, Need>(this);
}
