import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { failureOf } from '../failure';
import { formatNumber, statusLabel } from '../format';
import { ExperimentsModel } from '../model';
import { IMaggyActions, translationBundle } from '../tokens';
import { el, LazyView } from './lazyView';

/**
 * The DOM event (bubbling, `detail` `{experimentId}`) the header's "Analysis" button sends; the
 * plugin listens for it on the panel and opens that experiment's analysis tab.
 */
export const OPEN_ANALYSIS_EVENT = 'maggy-open-analysis';

/**
 * Title of the selected experiment: name, status, progress, best trial, a button that
 * stops the whole experiment while it runs, and why it failed with the first error's last
 * traceback lines (no click needed: when every trial failed, that error is the news).
 */
export class ExperimentHeader extends LazyView {
  constructor(
    model: ExperimentsModel,
    actions: IMaggyActions,
    translator?: ITranslator
  ) {
    super();
    this.addClass('maggy-Header');
    this._model = model;
    const trans = (this._trans = translationBundle(translator));
    this._stop = el(
      'button',
      'maggy-StopButton jp-mod-styled jp-mod-warn',
      trans.__('Stop experiment')
    );
    this._stop.title = trans.__(
      'Stop the experiment: start no more trials and stop the running ones'
    );
    this._stop.addEventListener('click', () => {
      const id = this._model.selectedId;
      if (id === null) {
        return;
      }
      this._stop.disabled = true;
      this._stop.textContent = trans.__('Stopping…');
      actions.stopExperiment(id).catch(err => {
        this._stop.disabled = false;
        this._stop.textContent = trans.__('Stop experiment');
        this._stop.title = trans.__('Could not stop: %1', err.message ?? err);
      });
    });
    this._analysis = el(
      'button',
      'maggy-AnalysisButton jp-mod-styled',
      trans.__('Analysis')
    );
    this._analysis.title = trans.__(
      'Open the analysis of this experiment in a tab: history, parallel coordinates, importance, slices'
    );
    this._analysis.addEventListener('click', () => {
      const id = this._model.selectedId;
      if (id !== null) {
        this.node.dispatchEvent(
          new CustomEvent(OPEN_ANALYSIS_EVENT, {
            bubbles: true,
            detail: { experimentId: id }
          })
        );
      }
    });
    const top = el('div', 'maggy-Header-top');
    top.append(this._name, this._status);
    const bottom = el('div', 'maggy-Header-bottom');
    const buttons = el('div', 'maggy-Header-buttons');
    buttons.append(this._stop, this._analysis);
    bottom.append(this._best, buttons);
    this._failure.append(this._failureText, this._firstError);
    this.node.append(top, this._progress, bottom, this._failure);
    this.followSelected(model);
  }

  render(): void {
    const exp = this._model.selected;
    this.node.hidden = exp === null;
    if (exp === null) {
      return;
    }
    const s = exp.summary;
    const trans = this._trans;
    this._name.textContent = s.name;
    this._name.title = `${s.name} (${s.experiment_id})`; // whole where the panel cuts it
    this._status.textContent = statusLabel(s.status, trans);
    this._status.className = `maggy-Badge maggy-Badge-${s.status.toLowerCase()}`;
    this.node.dataset.status = s.status;
    const parts = [trans.__('%1/%2 trials', s.done ?? 0, s.num_trials)];
    if (s.live) {
      parts.push(trans.__('%1 running', s.running ?? 0));
    }
    parts.push(trans.__('direction %1', s.direction));
    this._progress.textContent = parts.join(' · ');
    this._best.textContent = s.best
      ? trans.__(
          'best %1 (trial %2)',
          formatNumber(s.best.metric),
          s.best.trial_id
        )
      : trans.__('no finished trial yet');
    this._best.dataset.bestTrial = s.best ? String(s.best.trial_id) : '';
    const failure = failureOf(s, trans);
    this._failure.hidden = failure === null;
    this._failure.dataset.failed = String(failure?.failed ?? false);
    this._failureText.textContent = failure
      ? `${failure.failed ? trans.__('failed:') : trans.__('warning:')} ${failure.text}`
      : '';
    this._firstError.textContent = failure?.firstError ?? '';
    this._firstError.hidden = !failure?.firstError;
    this._stop.hidden = !s.live;
    if (!s.live) {
      this._stop.disabled = false;
      this._stop.textContent = trans.__('Stop experiment');
    }
  }

  private _model: ExperimentsModel;
  private _name = el('span', 'maggy-Header-name');
  private _status = el('span', 'maggy-Badge');
  private _trans: TranslationBundle;
  private _stop: HTMLButtonElement;
  private _analysis: HTMLButtonElement;
  private _progress = el('div', 'maggy-Header-progress');
  private _best = el('div', 'maggy-Header-best');
  private _failure = el('div', 'maggy-Header-failure');
  private _failureText = el('div', 'maggy-Header-failureText');
  private _firstError = el('pre', 'maggy-Header-firstError');
}
