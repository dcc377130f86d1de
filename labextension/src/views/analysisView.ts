import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import type { ExperimentsModel } from '../model';
import type { IAnalysisReply } from '../protocol';
import { translationBundle } from '../tokens';
import { AnalysisRenderer } from './analysisRender';
import { el } from './lazyView';

/** Opens (or shows) the analysis tab of an experiment: args `{experimentId}`, else the selected one. */
export const OPEN_ANALYSIS_COMMAND = 'maggy:open-analysis';

/** Where the analysis comes from (`MaggyConnection.analysis`; tests pass a fake). */
export interface IAnalysisSource {
  analysis(experimentId: string): Promise<IAnalysisReply>;
}

/** Fewest milliseconds between two `analysis` requests while the experiment runs. */
export const ANALYSIS_INTERVAL_MS = 2000;

/**
 * A main-area tab "Analysis: <name>" for one experiment: asks the kernel for its analysis
 * (`analysis` request) and draws it with `AnalysisRenderer`.
 *
 * Live: while the experiment runs, the panel's model gets its batches; whenever one changes
 * the count of ended trials (or the status), the tab asks again, at most every
 * `minInterval` ms and never with a request in flight (the kernel computes an importance per
 * request). A reply that says the experiment no longer runs is the last one asked for.
 */
export class AnalysisView extends Widget {
  constructor(
    model: ExperimentsModel,
    source: IAnalysisSource,
    experimentId: string,
    translator?: ITranslator | null,
    minInterval = ANALYSIS_INTERVAL_MS
  ) {
    super();
    this.experimentId = experimentId;
    this.minInterval = minInterval;
    this._model = model;
    this._source = source;
    const trans = (this._trans = translationBundle(translator));
    this.id = `maggy-analysis-${experimentId}`;
    this.addClass('maggy-Analysis');
    const name =
      model.experiments.get(experimentId)?.summary.name ?? experimentId;
    this.title.label = trans.__('Analysis: %1', name);
    this.title.caption = trans.__('Analysis of %1 (%2)', name, experimentId);
    this.title.closable = true;
    const head = el('div', 'maggy-Analysis-head');
    head.append(
      el('div', 'maggy-Analysis-name', `${name} (${experimentId})`),
      this._status
    );
    this._status.textContent = trans.__('asking the kernel…');
    const plots = el('div');
    this.node.append(head, plots);
    this.renderer = new AnalysisRenderer(plots, trans);
    this._key = this._changeKey();
    model.experimentChanged.connect(this._onChange, this);
    model.listChanged.connect(this._onChange, this);
    void this.refresh();
  }

  readonly experimentId: string;
  readonly renderer: AnalysisRenderer;
  minInterval: number;

  /** The latest reply (null before the first). */
  get reply(): IAnalysisReply | null {
    return this._reply;
  }

  /** Whether the tab still follows the experiment (false once a reply said it ended). */
  get following(): boolean {
    return !this._stopped;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._stopped = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    this._model.experimentChanged.disconnect(this._onChange, this);
    this._model.listChanged.disconnect(this._onChange, this);
    super.dispose();
  }

  /** Ask for the analysis now and draw the reply. */
  async refresh(): Promise<void> {
    this._inFlight = true;
    this._last = Date.now();
    try {
      const reply = await this._source.analysis(this.experimentId);
      if (this.isDisposed) {
        return;
      }
      this._reply = reply;
      this.renderer.render(reply.analysis);
      this._showStatus(reply);
      if (!reply.live) {
        this._stopped = true; // it ended (or runs elsewhere): nothing more will come
      }
    } catch (err) {
      if (!this.isDisposed) {
        this._status.textContent = this._trans.__(
          'The kernel could not give the analysis: %1',
          (err as Error).message ?? String(err)
        );
        this._status.dataset.error = 'true';
      }
    } finally {
      this._inFlight = false;
      if (this._again) {
        this._again = false;
        this._schedule();
      }
    }
  }

  private _showStatus(reply: IAnalysisReply): void {
    const a = reply.analysis;
    const trans = this._trans;
    const parts = [
      trans.__('%1 trials', a.trials),
      trans.__('direction %1', a.direction),
      reply.live
        ? trans.__('running: updates as trials end')
        : reply.status.toLowerCase()
    ];
    this._status.textContent = parts.join(' · ');
    this._status.dataset.live = String(reply.live);
    delete this._status.dataset.error;
  }

  /** What, when it changes, makes the analysis worth asking for again. */
  private _changeKey(): string {
    const s = this._model.experiments.get(this.experimentId)?.summary;
    return s ? `${s.done}|${s.status}|${s.live}` : '';
  }

  private _onChange(_: unknown, id?: string | void): void {
    if (typeof id === 'string' && id !== this.experimentId) {
      return;
    }
    const key = this._changeKey();
    if (key === this._key || key === '') {
      return;
    }
    this._key = key;
    this._schedule();
  }

  private _schedule(): void {
    if (this._stopped || this.isDisposed) {
      return;
    }
    if (this._inFlight) {
      this._again = true;
      return;
    }
    if (this._timer !== null) {
      return; // one is due already
    }
    const wait = this._last + this.minInterval - Date.now();
    if (wait <= 0) {
      void this.refresh();
      return;
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      if (!this.isDisposed) {
        void this.refresh();
      }
    }, wait);
  }

  private _model: ExperimentsModel;
  private _source: IAnalysisSource;
  private _trans: TranslationBundle;
  private _status = el('div', 'maggy-Analysis-status');
  private _reply: IAnalysisReply | null = null;
  private _key: string;
  private _inFlight = false;
  private _again = false;
  private _stopped = false;
  private _last = -Infinity;
  private _timer: ReturnType<typeof setTimeout> | null = null;
}
