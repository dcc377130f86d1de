import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { formatNumber, statusLabel } from '../format';
import { ExperimentsModel, ITrial } from '../model';
import { IMaggyActions, translationBundle } from '../tokens';
import { colorFor, EARLIER_COLOR } from './chartRender';
import { el, LazyView } from './lazyView';

/** Rows drawn beyond those in view, above and below, so scrolling shows no blank rows. */
const OVERSCAN = 10;
/** A row's height (px) until one is measured; style/base.css keeps every row one line high. */
const DEFAULT_ROW_HEIGHT = 23;
/** Rows drawn while the view's height is unknown (0: not laid out, as in jsdom). */
const UNMEASURED_ROWS = 60;

/**
 * The selected experiment's trials: colour (as in the chart), id, state, metric, last step,
 * params, and a stop button on running trials. Clicking a row selects the trial (its line is
 * highlighted and its logs shown).
 *
 * Virtualized: only the rows in view (plus `OVERSCAN` either side) are in the DOM; the table's
 * top and bottom margins stand in for the others, so the scroll bar is the whole table's. A
 * render costs the rows in view, not the trials: 10,000 trials redraw as cheaply as 30. A row
 * belongs to one trial for as long as it exists (its stop button stops that trial, never a
 * later one); rows scrolled out of view are dropped, and only changed cells are rewritten.
 * `data-trials` on the host says how many trials the table holds.
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
    const table = (this._table = el('table'));
    const head = el('tr');
    const columns: [string, string][] = [
      ['', trans.__('colour of the trial in the chart')],
      ['#', trans.__('trial id')],
      [trans.__('state'), trans.__('state of the trial')],
      [
        trans.__('metric'),
        trans.__('final metric, or the latest one while running')
      ],
      [trans.__('step'), trans.__('latest step reported')],
      ['', ''],
      [
        trans.__('params'),
        trans.__('parameters of the trial (hover a cell for each one whole)')
      ]
    ];
    for (const [name, title] of columns) {
      const th = el('th', '', name);
      th.title = title;
      head.append(th);
    }
    table.append(el('thead'), this._body);
    table.tHead!.append(head);
    this.node.append(table);
    this.node.addEventListener('scroll', () => this.markDirty(), {
      passive: true
    });
    this.followSelected(model);
  }

  render(): void {
    const exp = this._model.selected;
    if (exp?.summary.experiment_id !== this._shownId) {
      this._body.replaceChildren();
      this._rows.clear();
      this._shownId = exp?.summary.experiment_id ?? null;
      this.node.scrollTop = 0;
    }
    this.node.hidden = exp === null;
    if (exp === null) {
      return;
    }
    // trial ids in order, sorted again only when trials came or the experiment was replaced
    if (this._idsOf !== exp.trials || this._ids.length !== exp.trials.size) {
      this._ids = [...exp.trials.keys()].sort((a, b) => a - b);
      this._idsOf = exp.trials;
    }
    const ids = this._ids;
    const rowHeight = this._rowHeight;
    const viewport = this.node.clientHeight;
    let first = 0;
    let last = Math.min(ids.length, UNMEASURED_ROWS);
    if (viewport > 0) {
      const head = this._table.tHead?.offsetHeight ?? 0;
      const top = Math.max(0, this.node.scrollTop - head);
      first = Math.max(0, Math.floor(top / rowHeight) - OVERSCAN);
      last = Math.min(
        ids.length,
        Math.ceil((top + viewport) / rowHeight) + OVERSCAN
      );
      first = Math.min(first, last);
    }
    const shown = new Set(ids.slice(first, last));
    for (const [id, row] of this._rows) {
      if (!shown.has(id)) {
        row.remove();
        this._rows.delete(id);
      }
    }
    let previous: HTMLTableRowElement | null = null;
    for (let index = first; index < last; index++) {
      const id = ids[index];
      let row = this._rows.get(id);
      if (row === undefined) {
        row = this._newRow(exp.summary.experiment_id, id);
        this._rows.set(id, row);
      }
      const expected: ChildNode | null =
        previous === null ? this._body.firstChild : previous.nextSibling;
      if (expected !== row) {
        this._body.insertBefore(row, expected);
      }
      previous = row;
      this._update(row, exp.trials.get(id)!, exp.summary.live);
    }
    this._table.style.marginTop = `${first * rowHeight}px`;
    this._table.style.marginBottom = `${(ids.length - last) * rowHeight}px`;
    this.node.dataset.trials = String(ids.length);
    // the theme's row height, measured once (every row has it: style/base.css), then the rows
    // placed again with it
    const measured = this._measured ? 0 : (previous?.offsetHeight ?? 0);
    if (measured > 0) {
      this._measured = true;
      if (measured !== this._rowHeight) {
        this._rowHeight = measured;
        this.markDirty();
      }
    }
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
    setText(cells[6], formatParams(trial.params), paramsTitle(trial.params));
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
  private _table: HTMLTableElement;
  private _body = el('tbody');
  /** The rows in the DOM, by trial id. */
  private _rows = new Map<number, HTMLTableRowElement>();
  private _shownId: string | null = null;
  private _ids: number[] = [];
  private _idsOf: Map<number, ITrial> | null = null;
  private _rowHeight = DEFAULT_ROW_HEIGHT;
  private _measured = false;
}

/** Set a cell's text and its tooltip (by default the text: a cut cell still says it whole). */
function setText(node: HTMLElement, text: string, title = text): void {
  if (node.textContent !== text) {
    node.textContent = text;
    node.title = title;
  }
}

/** One `name = value` a line, values unrounded: the params cell's tooltip. */
export function paramsTitle(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k} = ${String(v)}`)
    .join('\n');
}

export function formatParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(
      ([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : String(v)}`
    )
    .join(', ');
}
