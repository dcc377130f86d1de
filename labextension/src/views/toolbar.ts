import { ExperimentsModel } from '../model';
import { IMaggyActions } from '../tokens';
import { el, LazyView } from './lazyView';

const MESSAGES: Record<string, string> = {
  'no-kernel': 'Open a notebook to see its experiments.',
  connecting: 'Connecting to the kernel…',
  connected: '',
  unavailable:
    'maggy is not loaded in this kernel. Experiments appear here when one starts, or connect now.'
};

/** Which kernel the panel follows, its connection state, and refresh / connect buttons. */
export class PanelToolbar extends LazyView {
  constructor(model: ExperimentsModel, actions: IMaggyActions) {
    super();
    this.addClass('maggy-Toolbar');
    this._model = model;
    const refresh = el('button', 'jp-mod-styled maggy-Toolbar-refresh', 'Refresh');
    refresh.title = 'List the experiments again';
    refresh.addEventListener('click', () => void actions.refresh().catch(() => undefined));
    this._connect.addEventListener('click', () => void actions.connect(true));
    const row = el('div', 'maggy-Toolbar-row');
    row.append(this._kernel, refresh);
    this.node.append(row, this._message, this._connect, this._error);
    model.statusChanged.connect(() => this.markDirty());
  }

  render(): void {
    const { status, kernelName, lastError } = this._model;
    this.node.dataset.status = status;
    this._kernel.textContent = kernelName ? `${kernelName} · ${status}` : 'no kernel';
    this._kernel.title = `Following the kernel of the active notebook (${this._kernel.textContent})`;
    this._message.textContent = MESSAGES[status] ?? '';
    this._message.hidden = !this._message.textContent;
    this._connect.hidden = status !== 'unavailable';
    this._error.textContent = lastError ?? '';
    this._error.hidden = !lastError;
  }

  private _model: ExperimentsModel;
  private _kernel = el('span', 'maggy-Toolbar-kernel');
  private _message = el('div', 'maggy-Toolbar-message');
  private _connect = el('button', 'jp-mod-styled jp-mod-accept', 'Connect');
  private _error = el('div', 'maggy-Toolbar-error');
}
