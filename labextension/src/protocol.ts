/**
 * The `maggy` comm protocol, version 1 (spec: docs/protocol.md, "Kernel <-> frontend").
 *
 * Types of what the kernel sends, builders for what the panel sends, and `parseKernelMessage`,
 * the one gate every incoming payload passes: anything with another version, an unknown type or
 * a wrong shape is dropped there (returns null), so the model only ever sees well-formed data.
 */

/** The one place the version lives on this side; `protocol.spec.ts` checks the kernel's agrees. */
export const PROTOCOL_VERSION = 1;
export const COMM_TARGET = 'maggy';

/** What every payload, both ways, starts with. */
interface IVersioned {
  v: typeof PROTOCOL_VERSION;
}

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
  /** True for a resumed experiment's trial from its earlier runs (shown greyed); else absent. */
  earlier?: boolean;
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
  /** In `experiments` (list) replies: the experiment ran in this kernel (running or ended). */
  kernel?: boolean;
  done: number | null;
  running: number | null;
  /** The best trial, by the engine's rule (the panel shows it, never recomputes it). */
  best: { trial_id: number; metric: number | null } | null;
  /** Why a FAILED experiment failed (the result's `failure`); null or absent otherwise. */
  failure?: string | null;
  /** Live only: a warning while the experiment runs, e.g. "every trial so far failed (3)". */
  warning?: string | null;
  /** The first failed trial's error tail (maggy's frames removed), set with failure or warning. */
  first_error?: { trial_id: number; text: string } | null;
  /** A resumed experiment's trials from its earlier runs (counted in `done`); absent from older kernels. */
  earlier?: number;
}

export interface IHello extends IVersioned {
  type: 'hello';
  protocol: number;
  maggy?: string;
}

export interface IExperimentsReply extends IVersioned {
  type: 'experiments';
  request_id?: string | number | null;
  experiments: IExperimentSummary[];
  store_error?: string;
}

export interface IExperimentSnapshot extends IVersioned {
  type: 'experiment';
  request_id?: string | number | null;
  experiment: IExperimentSummary;
  trials: IWireTrial[];
  seq: number;
}

export interface IBatch extends IVersioned {
  type: 'batch';
  experiment_id: string;
  seq: number;
  experiment_started?: {
    name: string;
    num_trials: number;
    num_workers: number;
    /** A resumed experiment's trials from its earlier runs, each with a thinned `history`. */
    earlier_trials?: IWireTrial[];
  };
  started?: IWireTrial[];
  points?: Record<string, Point[]>;
  logs?: Record<string, string[]>;
  finished?: IWireTrial[];
  experiment_finished?: {
    status: string;
    result: Record<string, unknown> | null;
  };
  /** The experiment's summary after this batch, when the batch changed it (applied last). */
  summary?: IExperimentSummary;
}

export interface ITrialReply extends IVersioned {
  type: 'trial';
  request_id?: string | number | null;
  experiment_id: string;
  trial: IWireTrial;
  seq: number;
}

export interface IAck extends IVersioned {
  type: 'ack';
  request_id?: string | number | null;
  ok: boolean;
  detail?: string;
}

export interface IErrorReply extends IVersioned {
  type: 'error';
  request_id?: string | number | null;
  reason: string;
}

/**
 * What `maggy.visualization.analysis_payload` computes for one experiment (version 1; its
 * docstring is the shape): everything the analysis tab draws, thinned in the kernel to at most
 * 2,000 dots per scatter and 1,000 polylines. Numbers are null where the kernel had NaN/inf.
 */
export interface IAnalysis {
  version: number;
  direction: 'max' | 'min' | string;
  /** Trials given, in any state. */
  trials: number;
  /** Trial id (as a string) -> params, for every trial referenced below (hover text). */
  params: Record<string, Record<string, unknown>>;
  history: {
    x: number[];
    trial_ids: number[];
    values: (number | null)[];
    states: string[];
    best_x: number[];
    best_y: (number | null)[];
    best_id: number | null;
    total: number;
  };
  parallel: {
    axes: { name: string; kind: string; ticks: [number | null, string][] }[];
    trial_ids: number[];
    /** Per trial: its height in [0, 1] on each axis, then the metric's (1: best). */
    rows: (number | null)[][];
    metric: (number | null)[];
    metric_range: [number | null, number | null] | null;
    total: number;
  };
  importance: {
    importances: Record<string, number>;
    std: Record<string, number>;
    n_trials: number;
    method: string;
  };
  slices: {
    name: string;
    kind: string;
    /** A categorical's choice labels (its `x` are indices into them); null otherwise. */
    choices: string[] | null;
    x: (number | null)[];
    metric: (number | null)[];
    trial_ids: number[];
    total: number;
  }[];
  ablation: {
    base_id: number | null;
    base_val: number | null;
    most_important: string | null;
    bars: {
      label: string;
      kind: string;
      component: string;
      trial_id: number;
      metric: number | null;
      delta: number | null;
      hurt: boolean;
    }[];
  } | null;
}

export interface IAnalysisReply extends IVersioned {
  type: 'analysis';
  request_id?: string | number | null;
  experiment_id: string;
  /** Running in this kernel (the analysis changes as trials end). */
  live: boolean;
  status: string;
  analysis: IAnalysis;
}

export type KernelMessage =
  | IAnalysisReply
  | IHello
  | IExperimentsReply
  | IExperimentSnapshot
  | IBatch
  | ITrialReply
  | IAck
  | IErrorReply;

/** Requests the panel sends (each reply echoes `request_id`). */
export type Request = IVersioned & { request_id: string } & (
    | { type: 'list'; limit?: number }
    | { type: 'subscribe'; experiment_id: string }
    | { type: 'unsubscribe'; experiment_id: string }
    | { type: 'get_trial'; experiment_id: string; trial_id: number }
    | { type: 'stop_trial'; experiment_id: string; trial_id: number }
    | { type: 'stop_experiment'; experiment_id: string }
    | { type: 'analysis'; experiment_id: string }
  );

/** The session comm's open data. */
export const HELLO: IVersioned & { type: 'hello' } = {
  v: PROTOCOL_VERSION,
  type: 'hello'
};

/** A request of `type` with its fields (the builders below check the fields' types). */
function request(
  type: Request['type'],
  requestId: string,
  fields: Record<string, unknown> = {}
): Request {
  return {
    v: PROTOCOL_VERSION,
    type,
    request_id: requestId,
    ...fields
  } as Request;
}

/** Builders: the only place request payloads are spelled out. */
export const requests = {
  list: (requestId: string, limit?: number): Request =>
    request('list', requestId, limit === undefined ? {} : { limit }),
  subscribe: (requestId: string, experimentId: string): Request =>
    request('subscribe', requestId, { experiment_id: experimentId }),
  unsubscribe: (requestId: string, experimentId: string): Request =>
    request('unsubscribe', requestId, { experiment_id: experimentId }),
  getTrial: (requestId: string, experimentId: string, trialId: number) =>
    request('get_trial', requestId, {
      experiment_id: experimentId,
      trial_id: trialId
    }),
  stopTrial: (requestId: string, experimentId: string, trialId: number) =>
    request('stop_trial', requestId, {
      experiment_id: experimentId,
      trial_id: trialId
    }),
  stopExperiment: (requestId: string, experimentId: string): Request =>
    request('stop_experiment', requestId, { experiment_id: experimentId }),
  analysis: (requestId: string, experimentId: string): Request =>
    request('analysis', requestId, { experiment_id: experimentId })
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
  experiments: m =>
    Array.isArray(m.experiments) && m.experiments.every(isSummary),
  experiment: m =>
    isSummary(m.experiment) &&
    Array.isArray(m.trials) &&
    m.trials.every(isTrial) &&
    typeof m.seq === 'number',
  batch: m =>
    typeof m.experiment_id === 'string' &&
    typeof m.seq === 'number' &&
    (m.started === undefined ||
      (Array.isArray(m.started) && m.started.every(isTrial))) &&
    (m.finished === undefined ||
      (Array.isArray(m.finished) && m.finished.every(isTrial))) &&
    (m.points === undefined || isObject(m.points)) &&
    (m.logs === undefined || isObject(m.logs)) &&
    (m.summary === undefined || isSummary(m.summary)) &&
    (m.experiment_started === undefined ||
      (isObject(m.experiment_started) &&
        (m.experiment_started.earlier_trials === undefined ||
          (Array.isArray(m.experiment_started.earlier_trials) &&
            m.experiment_started.earlier_trials.every(isTrial))))),
  trial: m => typeof m.experiment_id === 'string' && isTrial(m.trial),
  ack: m => typeof m.ok === 'boolean',
  analysis: m =>
    typeof m.experiment_id === 'string' &&
    isObject(m.analysis) &&
    m.analysis.version === 1 &&
    isObject(m.analysis.history) &&
    isObject(m.analysis.parallel) &&
    isObject(m.analysis.importance) &&
    isObject(m.analysis.params) &&
    Array.isArray(m.analysis.slices),
  error: m => typeof m.reason === 'string'
};

/** The payload as a typed message, or null if this panel does not understand it. */
export function parseKernelMessage(data: unknown): KernelMessage | null {
  if (
    !isObject(data) ||
    data.v !== PROTOCOL_VERSION ||
    typeof data.type !== 'string'
  ) {
    return null;
  }
  const check = CHECKS[data.type];
  if (check === undefined || !check(data)) {
    return null;
  }
  return data as unknown as KernelMessage;
}
