import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { formatNumber, statusLabel } from '../format';
import { ExperimentsModel } from '../model';
import { IExperimentSummary } from '../protocol';
import { translationBundle } from '../tokens';
import { el, LazyView } from './lazyView';

/**
 * The kernel's experiments, running ones first, then the stored history (newest first). Each
 * row: name, status, trials done/total (and running), best metric. Clicking selects it.
 */
export class ExperimentList extends LazyView {
  constructor(model: ExperimentsModel, translator?: ITranslator) {
    super();
    this.addClass('maggy-ExperimentList');
    this._model = model;
    this._trans = translationBundle(translator);
    this._empty = el(
      'div',
      'maggy-ExperimentList-empty',
      this._trans.__(
        'No experiments yet. Run experiment.lagom(...) in this notebook and it shows up here.'
      )
    );
    this.node.append(this._list, this._empty);
    model.listChanged.connect(this.markDirty, this);
    model.statusChanged.connect(this.markDirty, this);
    model.selectionChanged.connect(this.markDirty, this);
  }

  render(): void {
    const items = this._model.list().map(s => this._item(s));
    this._list.replaceChildren(...items);
    this._empty.hidden = items.length > 0 || this._model.status !== 'connected';
  }

  private _item(s: IExperimentSummary): HTMLLIElement {
    const item = el('li', 'maggy-ExperimentList-item');
    item.dataset.experimentId = s.experiment_id;
    item.dataset.status = s.status;
    item.classList.toggle(
      'maggy-mod-selected',
      s.experiment_id === this._model.selectedId
    );
    const trans = this._trans;
    const title = el('div', 'maggy-ExperimentList-title');
    const name = el('span', 'maggy-ExperimentList-name', s.name);
    name.title = `${s.name} (${s.experiment_id})`; // the name whole where the panel cuts it
    title.append(
      name,
      el(
        'span',
        `maggy-Badge maggy-Badge-${s.status.toLowerCase()}`,
        statusLabel(s.status, trans)
      )
    );
    const parts = [trans.__('%1/%2 trials', s.done ?? '?', s.num_trials)];
    if (s.live) {
      parts.push(trans.__('%1 running', s.running ?? 0));
    }
    if (s.best) {
      parts.push(
        trans.__('best %1 (#%2)', formatNumber(s.best.metric), s.best.trial_id)
      );
    }
    const meta = el('div', 'maggy-ExperimentList-meta', parts.join(' · '));
    const id = el('div', 'maggy-ExperimentList-id', s.experiment_id);
    item.append(title, meta, id);
    item.title = `${s.name} (${s.experiment_id})`;
    item.addEventListener('click', () => this._model.select(s.experiment_id));
    return item;
  }

  private _model: ExperimentsModel;
  private _trans: TranslationBundle;
  private _list = el('ul');
  private _empty: HTMLDivElement;
}
