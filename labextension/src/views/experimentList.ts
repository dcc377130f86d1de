import { formatNumber } from '../format';
import { ExperimentsModel } from '../model';
import { IExperimentSummary } from '../protocol';
import { el, LazyView } from './lazyView';

/**
 * The kernel's experiments, running ones first, then the stored history (newest first). Each
 * row: name, status, trials done/total (and running), best metric. Clicking selects it.
 */
export class ExperimentList extends LazyView {
  constructor(model: ExperimentsModel) {
    super();
    this.addClass('maggy-ExperimentList');
    this._model = model;
    this.node.append(this._list, this._empty);
    model.listChanged.connect(() => this.markDirty());
    model.statusChanged.connect(() => this.markDirty());
    model.selectionChanged.connect(() => this.markDirty());
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
    item.classList.toggle('maggy-mod-selected', s.experiment_id === this._model.selectedId);
    const title = el('div', 'maggy-ExperimentList-title');
    title.append(
      el('span', 'maggy-ExperimentList-name', s.name),
      el('span', `maggy-Badge maggy-Badge-${s.status.toLowerCase()}`, s.status.toLowerCase())
    );
    const parts = [`${s.done ?? '?'}/${s.num_trials} trials`];
    if (s.live) {
      parts.push(`${s.running ?? 0} running`);
    }
    if (s.best) {
      parts.push(`best ${formatNumber(s.best.metric)} (#${s.best.trial_id})`);
    }
    const meta = el('div', 'maggy-ExperimentList-meta', parts.join(' · '));
    const id = el('div', 'maggy-ExperimentList-id', s.experiment_id);
    item.append(title, meta, id);
    item.title = `${s.name} (${s.experiment_id})`;
    item.addEventListener('click', () => this._model.select(s.experiment_id));
    return item;
  }

  private _model: ExperimentsModel;
  private _list = el('ul');
  private _empty = el(
    'div',
    'maggy-ExperimentList-empty',
    'No experiments yet. Run experiment.lagom(...) in this notebook and it shows up here.'
  );
}
