import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { ExperimentsModel } from '../model';
import { DEFAULT_SETTINGS, translationBundle } from '../tokens';
import {
  chartFrame,
  colorFor,
  drawEnded,
  drawLive,
  EARLIER_COLOR,
  endedStride,
  IChartLine,
  IChartStyle,
  splitLines
} from './chartRender';
import { el, LazyView } from './lazyView';

/**
 * The live chart of the selected experiment: one line per trial, metric against step.
 *
 * Redraws only when something changed (data, selection, size, theme) and then on the next
 * animation frame, at most `refreshRate` times a second (LazyView), so a 10 Hz stream of
 * batches costs at most one draw per batch and a hidden panel costs nothing. After each draw
 * the host element carries `data-lines`, `data-points` (drawn) and `data-received` (points
 * received), which the browser tests read.
 *
 * Two stacked canvases: the back one holds the axes and the ended trials' lines, which no longer
 * change, and is redrawn only when the axes' range, the size, the highlighted trial, the theme or
 * the experiment change; a trial that ends is added to it. The front one holds the running
 * trials and the highlighted one and is redrawn each time. So at 10,000 trials a redraw costs
 * the running trials, not all of them. (`data-back-draws` counts the back canvas's full redraws.)
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
    this._back = document.createElement('canvas');
    this._canvas = document.createElement('canvas');
    this._empty = el('div', 'maggy-Chart-empty');
    this.node.append(this._back, this._canvas, this._empty);
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
    const sized = this._size(this._canvas, width, height, ratio);
    const ctx = this._canvas.getContext('2d');
    const backCtx = this._back.getContext('2d');
    if (ctx === null || backCtx === null) {
      return;
    }
    const css = getComputedStyle(this.node);
    const style: IChartStyle = {
      width,
      height,
      textColor: css.getPropertyValue('--jp-ui-font-color2').trim() || '#666',
      gridColor: css.getPropertyValue('--jp-border-color2').trim() || '#ccc',
      font: `10px ${css.getPropertyValue('--jp-ui-font-family').trim() || 'sans-serif'}`,
      highlight: this._model.selectedTrialId
    };
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (!sized) {
      ctx.clearRect(0, 0, width, height); // (resizing cleared it)
    }
    const frame = chartFrame(lines, style);
    const { ended, live } = splitLines(lines, style.highlight);
    let points = 0;
    let drawnLines = 0;
    if (frame === null) {
      this._backKey = '';
      this._size(this._back, width, height, ratio);
      backCtx.clearRect(0, 0, width, height);
    } else {
      const b = frame.bounds;
      const key = [
        width,
        height,
        ratio,
        b.x0,
        b.x1,
        b.y0,
        b.y1,
        style.highlight,
        style.textColor,
        style.gridColor,
        style.font
      ].join('|');
      if (key !== this._backKey || exp !== this._backExp) {
        this._size(this._back, width, height, ratio);
        backCtx.setTransform(ratio, 0, 0, ratio, 0, 0);
        backCtx.clearRect(0, 0, width, height);
        // thinned for the number of ended trials now; those added later get the same stride
        // (each is drawn once, so its cost does not add up frame after frame)
        this._backStride = endedStride(ended);
        drawEnded(backCtx, ended, style, frame, this._backStride, true);
        this._onBack = new Set(ended.map(l => l.id));
        this._backKey = key;
        this._backExp = exp;
        this._backDraws += 1;
      } else {
        const added = ended.filter(l => !this._onBack.has(l.id));
        if (added.length > 0) {
          drawEnded(backCtx, added, style, frame, this._backStride, false);
          added.forEach(l => this._onBack.add(l.id));
        }
      }
      drawLive(ctx, live, style, frame);
      for (const line of [...ended, ...live]) {
        points += line.series.length;
        drawnLines += 1;
      }
    }
    this.node.dataset.lines = String(drawnLines);
    this.node.dataset.points = String(points);
    this.node.dataset.received = String(received);
    this.node.dataset.backDraws = String(this._backDraws);
    this._empty.textContent =
      exp !== null && points === 0
        ? this._trans.__('No metric points yet')
        : '';
  }

  /** Size `canvas` for `width` x `height` CSS pixels; true if that changed (and cleared) it. */
  private _size(
    canvas: HTMLCanvasElement,
    width: number,
    height: number,
    ratio: number
  ): boolean {
    const w = Math.round(width * ratio);
    const h = Math.round(height * ratio);
    if (canvas.width === w && canvas.height === h) {
      return false;
    }
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    return true;
  }

  private _model: ExperimentsModel;
  private _trans: TranslationBundle;
  private _refreshRate = DEFAULT_SETTINGS.refreshRate;
  private _canvas: HTMLCanvasElement;
  /** The axes and the ended trials' lines; redrawn whole only when `_backKey` changes. */
  private _back: HTMLCanvasElement;
  private _backKey = '';
  private _backExp: unknown = null;
  private _onBack = new Set<number>();
  private _backDraws = 0;
  private _backStride = 1;
  private _empty: HTMLDivElement;
  private _resize: ResizeObserver | null = null;
  private _theme: MutationObserver;
}
