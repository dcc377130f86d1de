import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { statusText } from '../format';
import { ExperimentsModel } from '../model';
import { translationBundle } from '../tokens';
import { LazyView } from './lazyView';

/**
 * Status bar text "maggy: 6/20 trials, 2 running" about the followed kernel's experiment
 * (`ExperimentsModel.current`); empty when that kernel ran none. A click opens the panel.
 */
export class StatusItem extends LazyView {
  constructor(
    model: ExperimentsModel,
    open: () => void,
    translator?: ITranslator
  ) {
    super();
    this.addClass('maggy-StatusItem');
    this._trans = translationBundle(translator);
    this.node.title = this._trans.__('Open the maggy Experiments panel');
    this.node.addEventListener('click', open);
    this._model = model;
    model.listChanged.connect(this.markDirty, this);
    model.selectionChanged.connect(this.markDirty, this);
  }

  render(): void {
    const exp = this._model.current();
    this.node.textContent = exp === null ? '' : statusText(exp, this._trans);
    this.node.dataset.experimentId = exp?.summary.experiment_id ?? '';
  }

  private _model: ExperimentsModel;
  private _trans: TranslationBundle;
}
