import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { ExperimentsModel } from '../model';
import { translationBundle } from '../tokens';
import { el, LazyView } from './lazyView';

/**
 * The selected trial's parameters, whole and wrapped (the trial table cuts them to one line),
 * then its log lines (and the traceback, for a trial that raised). The full log is
 * fetched from the kernel when the trial is selected (the model asks through `needs`); lines that
 * stream in later are appended. Sticks to the bottom unless the user scrolled up.
 */
export class LogView extends LazyView {
  constructor(model: ExperimentsModel, translator?: ITranslator) {
    super();
    this.addClass('maggy-LogView');
    this._model = model;
    this._trans = translationBundle(translator);
    this.node.append(this._title, this._params, this._error, this._pre);
    this.followSelected(model);
  }

  render(): void {
    const trialId = this._model.selectedTrialId;
    const trial =
      trialId === null ? undefined : this._model.selected?.trials.get(trialId);
    this.node.hidden = trial === undefined;
    if (trial === undefined) {
      return;
    }
    const trans = this._trans;
    const hidden = trial.numLogs - trial.logs.length;
    const title = [trans.__('Trial %1 logs', trial.id)];
    if (!trial.logsLoaded) {
      title.push(trans.__('(loading…)'));
    }
    if (hidden > 0) {
      title.push(
        trans.__('(last %1 of %2 lines)', trial.logs.length, trial.numLogs)
      );
    }
    this._title.textContent = title.join(' ');
    const params = Object.entries(trial.params).map(
      ([k, v]) => `${k} = ${String(v)}`
    );
    if (params.join('\n') !== this._shownParams) {
      this._shownParams = params.join('\n');
      this._params.replaceChildren(
        ...params.map(text => el('span', 'maggy-LogView-param', text))
      );
    }
    this._error.textContent = trial.error ?? '';
    this._error.hidden = !trial.error;
    const atBottom =
      this._pre.scrollTop + this._pre.clientHeight >=
      this._pre.scrollHeight - 4;
    const text = trial.logs.join('\n');
    if (this._pre.textContent !== text) {
      this._pre.textContent =
        text || (trial.logsLoaded ? trans.__('(no log lines)') : '');
      if (atBottom) {
        this._pre.scrollTop = this._pre.scrollHeight;
      }
    }
  }

  private _model: ExperimentsModel;
  private _trans: TranslationBundle;
  private _title = el('div', 'maggy-LogView-title');
  private _params = el('div', 'maggy-LogView-params');
  private _shownParams = '';
  private _error = el('pre', 'maggy-LogView-error');
  private _pre = el('pre', 'maggy-LogView-lines');
}
