import { Panel } from '@lumino/widgets';

import { ExperimentsModel } from '../model';
import { IMaggyActions, IMaggySettings, PANEL_ID } from '../tokens';
import { ChartView } from './chart';
import { ExperimentHeader } from './experimentHeader';
import { ExperimentList } from './experimentList';
import { LogView } from './logView';
import { PanelToolbar } from './toolbar';
import { TrialTable } from './trialTable';

/**
 * The left-sidebar "Experiments" panel: toolbar, experiment list, then the selected
 * experiment's header, live chart, trial table and logs, stacked and scrolling as one.
 */
export class ExperimentsPanel extends Panel {
  constructor(model: ExperimentsModel, actions: IMaggyActions, settings: IMaggySettings) {
    super();
    this.id = PANEL_ID;
    this.addClass('maggy-Panel');
    this.title.caption = 'Experiments (maggy)';
    this.chart = new ChartView(model, settings.refreshRate);
    this.addWidget(new PanelToolbar(model, actions));
    this.addWidget(new ExperimentList(model));
    this.addWidget(new ExperimentHeader(model, actions));
    this.addWidget(this.chart);
    this.addWidget(new TrialTable(model, actions));
    this.addWidget(new LogView(model));
  }

  readonly chart: ChartView;
}
