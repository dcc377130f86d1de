import { Token } from '@lumino/coreutils';

import type { ExperimentsModel } from './model';
import type { IAck } from './protocol';

/** What the views may ask of the kernel side (implemented by `MaggyConnection` in comm.ts). */
export interface IMaggyActions {
  stopTrial(experimentId: string, trialId: number): Promise<IAck>;
  stopExperiment(experimentId: string): Promise<IAck>;
  refresh(): Promise<void>;
  /** Reconnect; with `loadBridge`, first import maggy_jupyter's bridge in the kernel. */
  connect(loadBridge?: boolean): Promise<void>;
}

/** The Experiments panel's state and actions, for other plugins (status bar, third parties). */
export interface IMaggyExperiments {
  readonly model: ExperimentsModel;
  readonly actions: IMaggyActions;
  /** Show the Experiments panel. */
  openPanel(): void;
}

export const IMaggyExperiments = new Token<IMaggyExperiments>(
  'maggy-jupyter:IMaggyExperiments',
  'The maggy Experiments panel: live experiment state of the active notebook kernel.'
);

/** User settings (schema: labextension/schema/plugin.json). */
export interface IMaggySettings {
  maxPointsPerTrial: number;
  refreshRate: number;
  maxLogLines: number;
  historyLimit: number;
  autoConnect: boolean;
}

export const DEFAULT_SETTINGS: IMaggySettings = {
  maxPointsPerTrial: 2000,
  refreshRate: 10,
  maxLogLines: 1000,
  historyLimit: 50,
  autoConnect: true
};

export const PLUGIN_ID = 'maggy-jupyter:plugin';
export const PANEL_ID = 'maggy-experiments';

export namespace CommandIDs {
  export const openPanel = 'maggy:open-panel';
  export const stopExperiment = 'maggy:stop-experiment';
  export const refresh = 'maggy:refresh-experiments';
}
