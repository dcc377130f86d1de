/**
 * The `maggy` comm protocol, version 1 (spec: docs/protocol.md, "Kernel <-> frontend").
 *
 * Types of what the kernel sends, builders for what the panel sends, and `parseKernelMessage`,
 * the one gate every incoming payload passes: anything with another version, an unknown type or
 * a wrong shape is dropped there (returns null), so the model only ever sees well-formed data.
 */

export const PROTOCOL_VERSION = 1;
export const COMM_TARGET = 'maggy';

/** A `[step, value]` point; value is null where the trial reported NaN/inf. */
export type Point = [number, number | null];

export type TrialStateName =
  | 'PENDING'
  | 'RUNNING'
  | 'FINISHED'
  | 'EARLY_STOPPED'
  | 'STOPPED'
  | 'ERROR'
  | 'LOST';

export interface IWireTrial {
  trial_id: number;
  params: Record<string, unknown>;
  state: TrialStateName;
  metric: number | null;
  start: number | null;
  end: number | null;
  error: string | null;
  worker?: string | null;
  retry_of?: number | null;
  budget?: number | null;
  /** In snapshots and `trial` replies only. */
  history?: Point[];
  /** In `trial` replies only. */
  logs?: string[];
  /** In snapshots: how many log lines the kernel holds (fetch them with `get_trial`). */
  num_logs?: number;
}

export interface IExperimentSummary {
  experiment_id: string;
  name: string;
  status: string;
  direction: 'max' | 'min' | string;
  num_trials: number;
  start: number | null;
  end: number | null;
  /** Running in this kernel and streamed (batches follow a subscription). */
  live: boolean;
  done: number | null;
  running: number | null;
  best: { trial_id: number; metric: number | null } | null;
  /** Why a FAILED experiment failed (the result's `failure`); null or absent otherwise. */
  failure?: string | null;
}

export interface IHello {
  v: 1;
  type: 'hello';
  protocol: number;
  maggy?: string;
}

export interface IExperimentsReply {
  v: 1;
  type: 'experiments';
  request_id?: string | number | null;
  experiments: IExperimentSummary[];
  store_error?: string;
}

export interface IExperimentSnapshot {
  v: 1;
  type: 'experiment';
  request_id?: string | number | null;
  experiment: IExperimentSummary;
  trials: IWireTrial[];
  seq: number;
}

export interface IBatch {
  v: 1;
  type: 'batch';
  experiment_id: string;
  seq: number;
  experiment_started?: { name: string; num_trials: number; num_workers: number };
  started?: IWireTrial[];
  points?: Record<string, Point[]>;
  logs?: Record<string, string[]>;
  finished?: IWireTrial[];
  experiment_finished?: { status: string; result: Record<string, unknown> | null };
}

export interface ITrialReply {
  v: 1;
  type: 'trial';
  request_id?: string | number | null;
  experiment_id: string;
  trial: IWireTrial;
  seq: number;
}

export interface IAck {
  v: 1;
  type: 'ack';
  request_id?: string | number | null;
  ok: boolean;
  detail?: string;
}

export interface IErrorReply {
  v: 1;
  type: 'error';
  request_id?: string | number | null;
  reason: string;
}

export type KernelMessage =
  | IHello
  | IExperimentsReply
  | IExperimentSnapshot
  | IBatch
  | ITrialReply
  | IAck
  | IErrorReply;

export type Request =
  | { v: 1; type: 'list'; request_id: string; limit?: number }
  | { v: 1; type: 'subscribe'; request_id: string; experiment_id: string }
  | { v: 1; type: 'unsubscribe'; request_id: string; experiment_id: string }
  | {
      v: 1;
      type: 'get_trial';
      request_id: string;
      experiment_id: string;
      trial_id: number;
    }
  | {
      v: 1;
      type: 'stop_trial';
      request_id: string;
      experiment_id: string;
      trial_id: number;
    }
  | { v: 1; type: 'stop_experiment'; request_id: string; experiment_id: string };

/** Builders: the only place request payloads are spelled out. */
export const requests = {
  list: (requestId: string, limit?: number): Request =>
    limit === undefined
      ? { v: 1, type: 'list', request_id: requestId }
      : { v: 1, type: 'list', request_id: requestId, limit },
  subscribe: (requestId: string, experimentId: string): Request => ({
    v: 1,
    type: 'subscribe',
    request_id: requestId,
    experiment_id: experimentId
  }),
  unsubscribe: (requestId: string, experimentId: string): Request => ({
    v: 1,
    type: 'unsubscribe',
    request_id: requestId,
    experiment_id: experimentId
  }),
  getTrial: (requestId: string, experimentId: string, trialId: number): Request => ({
    v: 1,
    type: 'get_trial',
    request_id: requestId,
    experiment_id: experimentId,
    trial_id: trialId
  }),
  stopTrial: (requestId: string, experimentId: string, trialId: number): Request => ({
    v: 1,
    type: 'stop_trial',
    request_id: requestId,
    experiment_id: experimentId,
    trial_id: trialId
  }),
  stopExperiment: (requestId: string, experimentId: string): Request => ({
    v: 1,
    type: 'stop_experiment',
    request_id: requestId,
    experiment_id: experimentId
  })
};

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

const isTrial = (x: unknown): x is IWireTrial =>
  isObject(x) && typeof x.trial_id === 'number' && typeof x.state === 'string';

const isSummary = (x: unknown): x is IExperimentSummary =>
  isObject(x) && typeof x.experiment_id === 'string';

/** Shape checks per message type; only the fields the model relies on are checked. */
const CHECKS: Record<string, (m: Record<string, unknown>) => boolean> = {
  hello: m => typeof m.protocol === 'number',
  experiments: m => Array.isArray(m.experiments) && m.experiments.every(isSummary),
  experiment: m =>
    isSummary(m.experiment) &&
    Array.isArray(m.trials) &&
    m.trials.every(isTrial) &&
    typeof m.seq === 'number',
  batch: m =>
    typeof m.experiment_id === 'string' &&
    typeof m.seq === 'number' &&
    (m.started === undefined || (Array.isArray(m.started) && m.started.every(isTrial))) &&
    (m.finished === undefined || (Array.isArray(m.finished) && m.finished.every(isTrial))) &&
    (m.points === undefined || isObject(m.points)) &&
    (m.logs === undefined || isObject(m.logs)),
  trial: m => typeof m.experiment_id === 'string' && isTrial(m.trial),
  ack: m => typeof m.ok === 'boolean',
  error: m => typeof m.reason === 'string'
};

/** The payload as a typed message, or null if this panel does not understand it. */
export function parseKernelMessage(data: unknown): KernelMessage | null {
  if (!isObject(data) || data.v !== PROTOCOL_VERSION || typeof data.type !== 'string') {
    return null;
  }
  const check = CHECKS[data.type];
  if (check === undefined || !check(data)) {
    return null;
  }
  return data as unknown as KernelMessage;
}
