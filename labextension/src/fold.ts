import type { IExperiment, ITrial } from './model';
import { IBatch, IExperimentSummary, IWireTrial, Point } from './protocol';
import { TrialSeries } from './series';

/**
 * How protocol messages fold into the model's experiments and trials (pure helpers of
 * model.ts). `limits` are the model's memory bounds.
 */

export interface ILimits {
  maxPointsPerTrial: number;
  maxLogLines: number;
}

export const TERMINAL = new Set(['FINISHED', 'EARLY_STOPPED', 'STOPPED', 'ERROR', 'LOST']);
const PARTIAL = new Set(['EARLY_STOPPED', 'STOPPED']);

/** Apply a batch's parts in the order the protocol fixes (valid for every trial lifecycle). */
export function applyBatch(exp: IExperiment, batch: IBatch, limits: ILimits): void {
  if (batch.experiment_started) {
    exp.summary.name = batch.experiment_started.name;
    exp.summary.num_trials = batch.experiment_started.num_trials;
  }
  for (const wire of batch.started ?? []) {
    trialFor(exp, wire, limits);
  }
  for (const [key, points] of Object.entries(batch.points ?? {})) {
    const series = trialFor(exp, Number(key), limits).series;
    for (const point of points as Point[]) {
      series.push(point);
    }
  }
  for (const [key, lines] of Object.entries(batch.logs ?? {})) {
    const trial = trialFor(exp, Number(key), limits);
    trial.logs.push(...(lines as string[]));
    trial.numLogs += (lines as string[]).length;
    if (trial.logs.length > limits.maxLogLines) {
      trial.logs.splice(0, trial.logs.length - limits.maxLogLines);
    }
  }
  for (const wire of batch.finished ?? []) {
    trialFor(exp, wire, limits);
  }
  if (batch.experiment_finished) {
    exp.summary.status = batch.experiment_finished.status;
    exp.summary.live = false;
    exp.summary.end = Date.now() / 1000;
    exp.result = batch.experiment_finished.result;
    const failure = exp.result?.failure;
    exp.summary.failure = typeof failure === 'string' ? failure : null;
  }
}

/** The trial with this id (created if new; its fields updated from `wire` when given one). */
function trialFor(exp: IExperiment, wire: IWireTrial | number, limits: ILimits): ITrial {
  const id = typeof wire === 'number' ? wire : wire.trial_id;
  let trial = exp.trials.get(id);
  if (trial === undefined) {
    // points or logs before the trial's start: only after a gap, which a snapshot repairs
    const fresh: IWireTrial = {
      trial_id: id,
      params: {},
      state: 'RUNNING',
      metric: null,
      start: null,
      end: null,
      error: null
    };
    trial = newTrial(typeof wire === 'number' ? fresh : wire, limits);
    exp.trials.set(id, trial);
  } else if (typeof wire !== 'number') {
    Object.assign(trial, trialFields(wire));
  }
  return trial;
}

export function newTrial(wire: IWireTrial, limits: ILimits): ITrial {
  return {
    id: wire.trial_id,
    ...trialFields(wire),
    series: new TrialSeries(limits.maxPointsPerTrial),
    logs: (wire.logs ?? []).slice(-limits.maxLogLines),
    numLogs: wire.num_logs ?? wire.logs?.length ?? 0,
    logsLoaded: wire.logs !== undefined
  };
}

export function emptyExperiment(summary: IExperimentSummary): IExperiment {
  return {
    summary: { ...summary },
    trials: new Map(),
    seq: 0,
    synced: false,
    result: null,
    revision: 0
  };
}

export function trialFields(wire: IWireTrial) {
  return {
    params: wire.params ?? {},
    state: wire.state,
    metric: wire.metric ?? null,
    start: wire.start ?? null,
    end: wire.end ?? null,
    error: wire.error ?? null
  };
}

/** Same rule as the kernel's result: FINISHED trials, else ones stopped early with a metric. */
export function bestOf(
  trials: ITrial[],
  direction: string
): { trial_id: number; metric: number } | null {
  let scored = trials.filter(t => t.state === 'FINISHED' && t.metric !== null);
  if (scored.length === 0) {
    scored = trials.filter(t => PARTIAL.has(t.state) && t.metric !== null);
  }
  let best: ITrial | null = null;
  for (const t of scored) {
    if (
      best === null ||
      (direction === 'min' ? t.metric! < best.metric! : t.metric! > best.metric!)
    ) {
      best = t;
    }
  }
  return best === null ? null : { trial_id: best.id, metric: best.metric! };
}
