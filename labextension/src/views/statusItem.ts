import { statusText } from '../format';
import { ExperimentsModel } from '../model';
import { LazyView } from './lazyView';

/** Status bar text "maggy: 6/20 trials, 2 running"; a click opens the Experiments panel. */
export class StatusItem extends LazyView {
  constructor(model: ExperimentsModel, open: () => void) {
    super();
    this.addClass('maggy-StatusItem');
    this.node.title = 'Open the maggy Experiments panel';
    this.node.addEventListener('click', open);
    this._model = model;
    model.listChanged.connect(() => this.markDirty());
    model.selectionChanged.connect(() => this.markDirty());
  }

  render(): void {
    this.node.textContent = statusText(this._model.current());
  }

  private _model: ExperimentsModel;
}
