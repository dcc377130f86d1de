import { ITranslator } from '@jupyterlab/translation';
import { Panel } from '@lumino/widgets';

import { ExperimentsModel } from '../model';
import {
  IMaggyActions,
  IMaggySettings,
  PANEL_ID,
  translationBundle
} from '../tokens';
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
  constructor(
    model: ExperimentsModel,
    actions: IMaggyActions,
    settings: IMaggySettings,
    translator?: ITranslator
  ) {
    super();
    this.id = PANEL_ID;
    this.addClass('maggy-Panel');
    this.title.caption = translationBundle(translator).__(
      'Experiments (maggy)'
    );
    this.chart = new ChartView(model, settings.refreshRate, translator);
    this.addWidget(new PanelToolbar(model, actions, translator));
    this.addWidget(new ExperimentList(model, translator));
    this.addWidget(new ExperimentHeader(model, actions, translator));
    this.addWidget(this.chart);
    this.addWidget(new TrialTable(model, actions, translator));
    this.addWidget(new LogView(model, translator));
  }

  readonly chart: ChartView;
}
