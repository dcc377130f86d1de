import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { ConnectionStatus, ExperimentsModel } from '../model';
import { IMaggyActions, translationBundle } from '../tokens';
import { el, LazyView } from './lazyView';

/** Which kernel the panel follows, its connection state, and refresh / connect buttons. */
export class PanelToolbar extends LazyView {
  constructor(
    model: ExperimentsModel,
    actions: IMaggyActions,
    translator?: ITranslator
  ) {
    super();
    this.addClass('maggy-Toolbar');
    this._model = model;
    const trans = (this._trans = translationBundle(translator));
    const refresh = el(
      'button',
      'jp-mod-styled maggy-Toolbar-refresh',
      trans.__('Refresh')
    );
    refresh.title = trans.__('List the experiments again');
    refresh.addEventListener(
      'click',
      () => void actions.refresh().catch(() => undefined)
    );
    this._connect = el(
      'button',
      'jp-mod-styled jp-mod-accept',
      trans.__('Connect')
    );
    this._connect.addEventListener('click', () => void actions.connect(true));
    const row = el('div', 'maggy-Toolbar-row');
    row.append(this._kernel, refresh);
    this.node.append(row, this._message, this._connect, this._error);
    model.statusChanged.connect(this.markDirty, this);
  }

  render(): void {
    const { status, kernelName, lastError } = this._model;
    const trans = this._trans;
    this.node.dataset.status = status;
    this.node.dataset.kernelId = this._model.kernelId; // which kernel: for tests and themes
    this._kernel.textContent = kernelName
      ? `${kernelName} · ${this._statusWord(status)}`
      : trans.__('no kernel');
    this._kernel.title = trans.__(
      'Following the kernel of the active notebook (%1)',
      this._kernel.textContent
    );
    this._message.textContent = this._messageFor(status);
    this._message.hidden = !this._message.textContent;
    this._connect.hidden = status !== 'unavailable';
    this._error.textContent = lastError ?? '';
    this._error.hidden = !lastError;
  }

  /** The connection state as a word, translated (data-status keeps the raw value for styling). */
  private _statusWord(status: ConnectionStatus): string {
    const trans = this._trans;
    switch (status) {
      case 'no-kernel':
        return trans.__('no kernel');
      case 'connecting':
        return trans.__('connecting');
      case 'connected':
        return trans.__('connected');
      default:
        return trans.__('not available');
    }
  }

  private _messageFor(status: ConnectionStatus): string {
    const trans = this._trans;
    switch (status) {
      case 'no-kernel':
        return trans.__('Open a notebook to see its experiments.');
      case 'connecting':
        return trans.__('Connecting to the kernel…');
      case 'unavailable':
        return trans.__(
          'maggy is not loaded in this kernel. Experiments appear here when one starts, or connect now.'
        );
      default:
        return '';
    }
  }

  private _model: ExperimentsModel;
  private _trans: TranslationBundle;
  private _kernel = el('span', 'maggy-Toolbar-kernel');
  private _message = el('div', 'maggy-Toolbar-message');
  private _connect: HTMLButtonElement;
  private _error = el('div', 'maggy-Toolbar-error');
}
