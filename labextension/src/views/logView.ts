import { ExperimentsModel } from '../model';
import { el, LazyView } from './lazyView';

/**
 * Log lines (and the traceback, for a trial that raised) of the selected trial. The full log is
 * fetched from the kernel when the trial is selected (the model asks through `needs`); lines that
 * stream in later are appended. Sticks to the bottom unless the user scrolled up.
 */
export class LogView extends LazyView {
  constructor(model: ExperimentsModel) {
    super();
    this.addClass('maggy-LogView');
    this._model = model;
    this.node.append(this._title, this._error, this._pre);
    model.experimentChanged.connect((_, id) => {
      if (id === model.selectedId && model.selectedTrialId !== null) {
        this.markDirty();
      }
    });
    model.selectionChanged.connect(() => this.markDirty());
  }

  render(): void {
    const trialId = this._model.selectedTrialId;
    const trial = trialId === null ? undefined : this._model.selected?.trials.get(trialId);
    this.node.hidden = trial === undefined;
    if (trial === undefined) {
      return;
    }
    const hidden = trial.numLogs - trial.logs.length;
    this._title.textContent =
      `Trial ${trial.id} logs` +
      (trial.logsLoaded ? '' : ' (loading…)') +
      (hidden > 0 ? ` (last ${trial.logs.length} of ${trial.numLogs} lines)` : '');
    this._error.textContent = trial.error ?? '';
    this._error.hidden = !trial.error;
    const atBottom = this._pre.scrollTop + this._pre.clientHeight >= this._pre.scrollHeight - 4;
    const text = trial.logs.join('\n');
    if (this._pre.textContent !== text) {
      this._pre.textContent = text || (trial.logsLoaded ? '(no log lines)' : '');
      if (atBottom) {
        this._pre.scrollTop = this._pre.scrollHeight;
      }
    }
  }

  private _model: ExperimentsModel;
  private _title = el('div', 'maggy-LogView-title');
  private _error = el('pre', 'maggy-LogView-error');
  private _pre = el('pre', 'maggy-LogView-lines');
}
