import type { IExperiment, ITrial } from './model';
import { IBatch, IExperimentSummary, IWireTrial, Point } from './protocol';
import { TrialSeries } from './series';

/**
 * How protocol messages fold into the model's experiments and trials (pure helpers of
 * model.ts). `limits` are the model's memory bounds. The experiment's summary (counts, best,
 * failure, warning, first error) is the kernel's: it is taken as sent, never recomputed here.
 */

export interface ILimits {
  maxPointsPerTrial: number;
  maxLogLines: number;
}

/** Apply a batch's parts in the order the protocol fixes (valid for every trial lifecycle). */
export function applyBatch(
  exp: IExperiment,
  batch: IBatch,
  limits: ILimits
): void {
  if (batch.experiment_started) {
    exp.summary.name = batch.experiment_started.name;
    exp.summary.num_trials = batch.experiment_started.num_trials;
    // a resumed experiment's earlier trials, whole (they no longer change): shown greyed
    for (const wire of batch.experiment_started.earlier_trials ?? []) {
      const trial = trialFor(exp, wire, limits);
      trial.earlier = true;
      trial.numLogs = wire.num_logs ?? trial.numLogs;
      trial.series = new TrialSeries(limits.maxPointsPerTrial);
      for (const point of wire.history ?? []) {
        trial.series.push(point);
      }
    }
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
    exp.result = batch.experiment_finished.result;
  }
  if (batch.summary) {
    exp.summary = { ...batch.summary };
  }
}

/** The trial with this id (created if new; its fields updated from `wire` when given one). */
function trialFor(
  exp: IExperiment,
  wire: IWireTrial | number,
  limits: ILimits
): ITrial {
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
    logsLoaded: wire.logs !== undefined,
    earlier: wire.earlier === true
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
