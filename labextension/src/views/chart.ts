import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ExperimentsModel } from '../model';
import { colorFor, drawChart, IChartLine } from './chartRender';

/**
 * The live chart of the selected experiment: one line per trial, metric against step.
 *
 * Redraws only when something changed (data, selection, size, theme) and then on the next
 * animation frame, at most `refreshRate` times a second, so a 10 Hz stream of batches costs at
 * most one draw per batch and a hidden panel costs nothing. After each draw the host element
 * carries `data-lines`, `data-points` (drawn) and `data-received` (points received), which the
 * browser tests read.
 */
export class ChartView extends Widget {
  constructor(model: ExperimentsModel, refreshRate = 10) {
    super();
    this.addClass('maggy-Chart');
    this._model = model;
    this.refreshRate = refreshRate;
    this._canvas = document.createElement('canvas');
    this._empty = document.createElement('div');
    this._empty.className = 'maggy-Chart-empty';
    this.node.append(this._canvas, this._empty);
    model.experimentChanged.connect((_, id) => {
      if (id === model.selectedId) {
        this.markDirty();
      }
    });
    model.selectionChanged.connect(() => this.markDirty());
    if (typeof ResizeObserver !== 'undefined') {
      this._resize = new ResizeObserver(() => this.markDirty());
      this._resize.observe(this.node);
    }
    // a theme switch changes the CSS variables the axes are drawn with
    this._theme = new MutationObserver(() => this.markDirty());
    this._theme.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-name'] });
  }

  /** Most draws per second. */
  refreshRate: number;

  dispose(): void {
    this._resize?.disconnect();
    this._theme.disconnect();
    if (this._frame !== 0) {
      cancelAnimationFrame(this._frame);
    }
    super.dispose();
  }

  markDirty(): void {
    this._dirty = true;
    if (this._frame === 0 && this.isVisible) {
      this._frame = requestAnimationFrame(this._onFrame);
    }
  }

  protected onAfterShow(msg: Message): void {
    this.markDirty();
  }

  private _onFrame = (time: number): void => {
    this._frame = 0;
    if (!this._dirty || !this.isVisible) {
      return;
    }
    if (time - this._lastDraw < 1000 / Math.max(1, this.refreshRate)) {
      this._frame = requestAnimationFrame(this._onFrame);
      return;
    }
    this._lastDraw = time;
    this._dirty = false;
    this.draw();
  };

  /** Draw now (normally called from the animation frame). */
  draw(): void {
    const exp = this._model.selected;
    this.node.hidden = exp === null; // before measuring: a hidden node has no size
    const lines: IChartLine[] = [];
    let received = 0;
    for (const trial of exp?.trials.values() ?? []) {
      received += trial.series.received;
      lines.push({
        id: trial.id,
        series: trial.series,
        color: colorFor(trial.id),
        running: trial.state === 'RUNNING'
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
      exp === null ? '' : stats.points === 0 ? 'No metric points yet' : '';
  }

  private _model: ExperimentsModel;
  private _canvas: HTMLCanvasElement;
  private _empty: HTMLDivElement;
  private _resize: ResizeObserver | null = null;
  private _theme: MutationObserver;
  private _dirty = true;
  private _frame = 0;
  private _lastDraw = -Infinity;
}
