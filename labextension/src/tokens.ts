import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { Token } from '@lumino/coreutils';

import schema from '../schema/plugin.json';

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

type SchemaProperties = typeof schema.properties;

/** Each property's `default`, typed as the schema's JSON has it. */
type SchemaDefaults = {
  [K in keyof SchemaProperties]: SchemaProperties[K]['default'];
};

const schemaDefaults = Object.fromEntries(
  Object.entries(schema.properties).map(([key, spec]) => [key, spec.default])
) as SchemaDefaults;

/**
 * The settings before (or without) the setting registry: the schema's defaults, the only place
 * they are written. (Compiling fails if the schema lacks a setting or gives a wrong type.)
 */
export const DEFAULT_SETTINGS: Readonly<IMaggySettings> =
  Object.freeze(schemaDefaults);

/** The gettext domain of this extension's labels. */
export const TRANSLATION_DOMAIN = 'maggy_jupyter';

/** This extension's labels in `translator`'s language (untranslated without one). */
export function translationBundle(
  translator?: ITranslator | null
): TranslationBundle {
  return (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
}

export const PLUGIN_ID = 'maggy-jupyter:plugin';
export const PANEL_ID = 'maggy-experiments';

export namespace CommandIDs {
  export const openPanel = 'maggy:open-panel';
  export const stopExperiment = 'maggy:stop-experiment';
  export const refresh = 'maggy:refresh-experiments';
}
