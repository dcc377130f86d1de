import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { statusText } from '../format';
import { ExperimentsModel } from '../model';
import { translationBundle } from '../tokens';
import { LazyView } from './lazyView';

/** Status bar text "maggy: 6/20 trials, 2 running"; a click opens the Experiments panel. */
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
    this.node.textContent = statusText(this._model.current(), this._trans);
  }

  private _model: ExperimentsModel;
  private _trans: TranslationBundle;
}
