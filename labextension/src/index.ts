import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';

/* eslint-disable jupyter/prefer-lazy-imports -- activation builds the panel, its model and
   connection at once: the sidebar shows them from the start */
import { MaggyConnection } from './comm';
import { followActiveKernel } from './follow';
import { ExperimentsModel } from './model';
import {
  CommandIDs,
  DEFAULT_SETTINGS,
  IMaggyExperiments,
  IMaggySettings,
  PANEL_ID,
  PLUGIN_ID,
  translationBundle
} from './tokens';
import { AnalysisView, OPEN_ANALYSIS_COMMAND } from './views/analysisView';
import { OPEN_ANALYSIS_EVENT } from './views/experimentHeader';
import { ExperimentsPanel } from './views/panel';
import { StatusItem } from './views/statusItem';
/* eslint-enable jupyter/prefer-lazy-imports */

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" ' +
  'd="M3 3h2v16h16v2H3V3zm4 12 4-5 3 3 5-7 1.6 1.2L14.2 16l-3-3-2.6 3.2L7 15z"/></svg>';

/** The maggy commands take no arguments. */
const NO_ARGS = { args: { type: 'object', properties: {} } };

const experimentsIcon = new LabIcon({
  name: 'maggy-jupyter:experiments',
  svgstr: ICON_SVG
});

/**
 * The Experiments panel: model, comm connection following the active notebook's or console's kernel, the
 * left-sidebar view, settings and commands. Everything but the model and the connection is
 * optional, so the plugin also loads in Notebook 7 and in shells without a palette.
 */
const panelPlugin: JupyterFrontEndPlugin<IMaggyExperiments> = {
  id: PLUGIN_ID,
  description:
    'A sidebar panel with live maggy experiments of the active notebook kernel.',
  autoStart: true,
  provides: IMaggyExperiments,
  optional: [
    INotebookTracker,
    ISettingRegistry,
    ICommandPalette,
    ITranslator,
    ILabShell
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    labShell: ILabShell | null
  ): IMaggyExperiments => {
    translator = translator ?? nullTranslator;
    const trans = translationBundle(translator);
    const settings: IMaggySettings = { ...DEFAULT_SETTINGS };
    const model = new ExperimentsModel(settings);
    const connection = new MaggyConnection(model, settings);
    const panel = new ExperimentsPanel(model, connection, settings, translator);
    panel.title.icon = experimentsIcon;
    try {
      app.shell.add(panel, 'left', { rank: 800 });
    } catch (err) {
      console.warn(
        'maggy-jupyter: this shell has no left area; the panel is not shown',
        err
      );
    }
    const openPanel = () => app.shell.activateById(PANEL_ID);

    if (settingRegistry) {
      void settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          const apply = () => {
            Object.assign(
              settings,
              loaded.composite as Partial<IMaggySettings>
            );
            model.maxPointsPerTrial = settings.maxPointsPerTrial;
            model.maxLogLines = settings.maxLogLines;
            connection.historyLimit = settings.historyLimit;
            connection.autoConnect = settings.autoConnect;
            panel.chart.refreshRate = settings.refreshRate;
          };
          apply();
          loaded.changed.connect(apply);
        })
        .catch(err => console.warn('maggy-jupyter: settings not loaded', err));
    }

    app.commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Open Experiments Panel (maggy)'),
      describedBy: NO_ARGS,
      execute: openPanel
    });
    app.commands.addCommand(CommandIDs.stopExperiment, {
      label: trans.__('Stop Running Experiment (maggy)'),
      describedBy: NO_ARGS,
      isEnabled: () => model.current()?.summary.live === true,
      execute: async () => {
        const exp = model.current();
        if (exp?.summary.live) {
          await connection.stopExperiment(exp.summary.experiment_id);
        }
      }
    });
    // one analysis tab per experiment: a second click shows the open one
    const analyses = new Map<string, AnalysisView>();
    /** A new tab for the experiment, in the main area; returns its widget id. */
    const newAnalysis = (experimentId: string): string => {
      const view = new AnalysisView(
        model,
        connection,
        experimentId,
        translator
      );
      analyses.set(experimentId, view);
      view.disposed.connect(() => analyses.delete(experimentId));
      app.shell.add(view, 'main'); // the shell owns it; closing the tab disposes it
      return view.id;
    };
    const openAnalysis = (experimentId: string) =>
      // a closed tab left the map when it was disposed
      app.shell.activateById(
        analyses.get(experimentId)?.id ?? newAnalysis(experimentId)
      );
    app.commands.addCommand(OPEN_ANALYSIS_COMMAND, {
      label: trans.__('Open Experiment Analysis (maggy)'),
      describedBy: {
        args: {
          type: 'object',
          properties: { experimentId: { type: 'string' } }
        }
      },
      isEnabled: args =>
        typeof args.experimentId === 'string' || model.selectedId !== null,
      execute: args => {
        const id =
          typeof args.experimentId === 'string'
            ? args.experimentId
            : model.selectedId;
        if (id !== null) {
          openAnalysis(id);
        }
      }
    });
    panel.node.addEventListener(OPEN_ANALYSIS_EVENT, event => {
      const id = (event as CustomEvent<{ experimentId: string }>).detail
        ?.experimentId;
      if (typeof id === 'string') {
        void app.commands.execute(OPEN_ANALYSIS_COMMAND, { experimentId: id });
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Experiments (maggy)'),
      describedBy: NO_ARGS,
      execute: () => connection.refresh()
    });
    model.listChanged.connect(() =>
      app.commands.notifyCommandChanged(CommandIDs.stopExperiment)
    );
    model.selectionChanged.connect(() =>
      app.commands.notifyCommandChanged(OPEN_ANALYSIS_COMMAND)
    );
    const category = trans.__('maggy');
    for (const command of [
      CommandIDs.openPanel,
      CommandIDs.stopExperiment,
      CommandIDs.refresh,
      OPEN_ANALYSIS_COMMAND
    ]) {
      palette?.addItem({ command, category });
    }

    // the current notebook's or console's kernel (JupyterLab), the notebook's (Notebook 7)
    followActiveKernel(labShell, tracker, kernel =>
      connection.setKernel(kernel)
    );
    return { model, actions: connection, openPanel };
  }
};

/**
 * "maggy: 6/20 trials, 2 running" in the status bar, about the experiment of the active
 * notebook's or console's kernel (none: no item); a click opens the panel.
 */
const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'maggy-jupyter:status',
  description: 'Shows the running maggy experiment in the status bar.',
  autoStart: true,
  requires: [IMaggyExperiments],
  optional: [IStatusBar, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    experiments: IMaggyExperiments,
    statusBar: IStatusBar | null,
    translator: ITranslator | null
  ): void => {
    if (!statusBar) {
      return; // Notebook 7 pages without a status bar
    }
    const { model } = experiments;
    const item = new StatusItem(
      model,
      experiments.openPanel,
      translator ?? nullTranslator
    );
    statusBar.registerStatusItem('maggy-jupyter:status', {
      item,
      align: 'left',
      rank: 4,
      isActive: () => model.current() !== null,
      activeStateChanged: model.listChanged
    });
  }
};

const plugins: JupyterFrontEndPlugin<any>[] = [panelPlugin, statusPlugin];

export default plugins;
