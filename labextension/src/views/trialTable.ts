import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { formatNumber, statusLabel } from '../format';
import { ExperimentsModel, ITrial } from '../model';
import { IMaggyActions, translationBundle } from '../tokens';
import { colorFor, EARLIER_COLOR } from './chartRender';
import { el, LazyView } from './lazyView';

/**
 * The selected experiment's trials: colour (as in the chart), id, state, metric, last step,
 * params, and a stop button on running trials. Rows are kept per trial and only changed cells
 * are rewritten, so 200 rows at 10 updates a second stay cheap. Clicking a row selects the
 * trial (its line is highlighted and its logs shown).
 */
export class TrialTable extends LazyView {
  constructor(
    model: ExperimentsModel,
    actions: IMaggyActions,
    translator?: ITranslator
  ) {
    super();
    this.addClass('maggy-TrialTable');
    this._model = model;
    this._actions = actions;
    const trans = (this._trans = translationBundle(translator));
    const table = el('table');
    const head = el('tr');
    const columns = [
      '',
      '#',
      trans.__('state'),
      trans.__('metric'),
      trans.__('step'),
      '',
      trans.__('params')
    ];
    for (const name of columns) {
      head.append(el('th', '', name));
    }
    table.append(el('thead'), this._body);
    table.tHead!.append(head);
    this.node.append(table);
    this.followSelected(model);
  }

  render(): void {
    const exp = this._model.selected;
    if (exp?.summary.experiment_id !== this._shownId) {
      this._body.replaceChildren();
      this._rows.clear();
      this._shownId = exp?.summary.experiment_id ?? null;
    }
    this.node.hidden = exp === null;
    if (exp === null) {
      return;
    }
    const ids = [...exp.trials.keys()].sort((a, b) => a - b);
    ids.forEach((id, index) => {
      let row = this._rows.get(id);
      if (row === undefined) {
        row = this._newRow(exp.summary.experiment_id, id);
        this._rows.set(id, row);
      }
      if (this._body.children[index] !== row) {
        this._body.insertBefore(row, this._body.children[index] ?? null);
      }
      this._update(row, exp.trials.get(id)!, exp.summary.live);
    });
  }

  private _newRow(experimentId: string, trialId: number): HTMLTableRowElement {
    const row = el('tr', 'maggy-TrialTable-row');
    row.dataset.trialId = String(trialId);
    const swatch = el('span', 'maggy-Swatch');
    swatch.style.background = colorFor(trialId);
    const swatchCell = el('td');
    swatchCell.append(swatch);
    row.append(
      swatchCell,
      el('td', '', String(trialId)),
      el('td'),
      el('td'),
      el('td')
    );
    const trans = this._trans;
    const button = el(
      'button',
      'maggy-StopButton jp-mod-styled jp-mod-warn',
      trans.__('Stop')
    );
    button.title = trans.__('Stop trial %1', trialId);
    button.addEventListener('click', event => {
      event.stopPropagation(); // not a row selection
      button.disabled = true;
      button.textContent = trans.__('Stopping…');
      this._actions.stopTrial(experimentId, trialId).catch(err => {
        button.disabled = false;
        button.textContent = trans.__('Stop');
        button.title = trans.__('Could not stop: %1', err.message ?? err);
      });
    });
    const buttonCell = el('td');
    buttonCell.append(button);
    row.append(buttonCell, el('td', 'maggy-TrialTable-params'));
    row.addEventListener('click', () =>
      this._model.selectTrial(
        this._model.selectedTrialId === trialId ? null : trialId
      )
    );
    return row;
  }

  private _update(
    row: HTMLTableRowElement,
    trial: ITrial,
    live: boolean
  ): void {
    const cells = row.cells;
    const last = trial.series.last;
    const metric =
      trial.state === 'RUNNING' ? last?.[1] : (trial.metric ?? last?.[1]);
    setText(cells[2], statusLabel(trial.state, this._trans));
    setText(cells[3], formatNumber(metric));
    setText(cells[4], last === null ? '' : formatNumber(last[0]));
    setText(cells[6], formatParams(trial.params));
    row.dataset.state = trial.state;
    row.classList.toggle(
      'maggy-mod-selected',
      trial.id === this._model.selectedTrialId
    );
    // A resumed experiment's earlier trials: greyed by the stylesheet (`maggy-mod-earlier`, so
    // a theme can restyle it); the swatch takes the chart's grey, the key to its faded lines.
    row.classList.toggle('maggy-mod-earlier', trial.earlier);
    row.title = trial.earlier
      ? this._trans.__('from an earlier run of this experiment')
      : '';
    const swatch = cells[0].firstElementChild as HTMLElement | null;
    if (swatch !== null) {
      swatch.style.background = trial.earlier
        ? EARLIER_COLOR
        : colorFor(trial.id);
    }
    const button = cells[5].firstElementChild as HTMLButtonElement;
    const stoppable = live && trial.state === 'RUNNING' && !trial.earlier;
    button.hidden = !stoppable;
    if (!stoppable) {
      button.disabled = false;
      button.textContent = this._trans.__('Stop');
    }
  }

  private _model: ExperimentsModel;
  private _actions: IMaggyActions;
  private _trans: TranslationBundle;
  private _body = el('tbody');
  private _rows = new Map<number, HTMLTableRowElement>();
  private _shownId: string | null = null;
}

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
    node.title = text;
  }
}

export function formatParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(
      ([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : String(v)}`
    )
    .join(', ');
}
