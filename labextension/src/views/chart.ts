import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { ExperimentsModel } from '../model';
import { DEFAULT_SETTINGS, translationBundle } from '../tokens';
import { colorFor, drawChart, EARLIER_COLOR, IChartLine } from './chartRender';
import { el, LazyView } from './lazyView';

/**
 * The live chart of the selected experiment: one line per trial, metric against step.
 *
 * Redraws only when something changed (data, selection, size, theme) and then on the next
 * animation frame, at most `refreshRate` times a second (LazyView), so a 10 Hz stream of
 * batches costs at most one draw per batch and a hidden panel costs nothing. After each draw
 * the host element carries `data-lines`, `data-points` (drawn) and `data-received` (points
 * received), which the browser tests read.
 */
export class ChartView extends LazyView {
  constructor(
    model: ExperimentsModel,
    refreshRate = DEFAULT_SETTINGS.refreshRate,
    translator?: ITranslator
  ) {
    super();
    this.addClass('maggy-Chart');
    this._model = model;
    this._trans = translationBundle(translator);
    this.refreshRate = refreshRate;
    this._canvas = document.createElement('canvas');
    this._empty = el('div', 'maggy-Chart-empty');
    this.node.append(this._canvas, this._empty);
    this.followSelected(model);
    if (typeof ResizeObserver !== 'undefined') {
      this._resize = new ResizeObserver(() => this.markDirty());
      this._resize.observe(this.node);
    }
    // a theme switch changes the CSS variables the axes are drawn with
    this._theme = new MutationObserver(() => this.markDirty());
    this._theme.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name']
    });
  }

  /** Most draws per second. */
  get refreshRate(): number {
    return this._refreshRate;
  }
  set refreshRate(rate: number) {
    this._refreshRate = rate;
    this.minInterval = 1000 / Math.max(1, rate);
  }

  dispose(): void {
    this._resize?.disconnect();
    this._theme.disconnect();
    super.dispose();
  }

  /** Draw now (normally called from the animation frame). */
  render(): void {
    const exp = this._model.selected;
    this.node.hidden = exp === null; // before measuring: a hidden node has no size
    const lines: IChartLine[] = [];
    let received = 0;
    for (const trial of exp?.trials.values() ?? []) {
      received += trial.series.received;
      lines.push({
        id: trial.id,
        series: trial.series,
        color: trial.earlier ? EARLIER_COLOR : colorFor(trial.id),
        running: trial.state === 'RUNNING',
        earlier: trial.earlier
      });
    }
    const width = Math.max(0, this.node.clientWidth);
    const height = Math.max(0, this.node.clientHeight);
    const ratio = window.devicePixelRatio || 1;
    this._canvas.width = Math.round(width * ratio);
    this._canvas.height = Math.round(height * ratio);
    this._canvas.style.width = `${width}px`;
    this._canvas.style.height = `${height}px`;
    const ctx = this._canvas.getContext('2d');
    if (ctx === null) {
      return;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const css = getComputedStyle(this.node);
    const stats = drawChart(ctx, lines, {
      width,
      height,
      textColor: css.getPropertyValue('--jp-ui-font-color2').trim() || '#666',
      gridColor: css.getPropertyValue('--jp-border-color2').trim() || '#ccc',
      font: `10px ${css.getPropertyValue('--jp-ui-font-family').trim() || 'sans-serif'}`,
      highlight: this._model.selectedTrialId
    });
    this.node.dataset.lines = String(stats.lines);
    this.node.dataset.points = String(stats.points);
    this.node.dataset.received = String(received);
    this._empty.textContent =
      exp !== null && stats.points === 0
        ? this._trans.__('No metric points yet')
        : '';
  }

  private _model: ExperimentsModel;
  private _trans: TranslationBundle;
  private _refreshRate = DEFAULT_SETTINGS.refreshRate;
  private _canvas: HTMLCanvasElement;
  private _empty: HTMLDivElement;
  private _resize: ResizeObserver | null = null;
  private _theme: MutationObserver;
}
