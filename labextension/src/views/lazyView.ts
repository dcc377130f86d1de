import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { ExperimentsModel } from '../model';

/**
 * A widget that re-renders on the next animation frame after `markDirty`, once however many
 * changes came in between, at most once per `minInterval` ms, and not at all while hidden (it
 * catches up when shown).
 */
export abstract class LazyView extends Widget {
  /** Fewest milliseconds between two renders (0: every frame that has changes). */
  minInterval = 0;

  markDirty(): void {
    this._dirty = true;
    if (this._frame === 0 && this.isVisible) {
      this._frame = requestAnimationFrame(this._onFrame);
    }
  }

  /** Bring the DOM up to date with the model now. */
  abstract render(): void;

  /** Re-render when the selection or the selected experiment's data changes. */
  protected followSelected(model: ExperimentsModel): void {
    model.experimentChanged.connect((_, id) => {
      if (id === model.selectedId) {
        this.markDirty();
      }
    }, this);
    model.selectionChanged.connect(this.markDirty, this);
  }

  dispose(): void {
    if (this._frame !== 0) {
      cancelAnimationFrame(this._frame);
      this._frame = 0;
    }
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    if (this._dirty) {
      this._renderNow(performance.now());
    }
  }

  protected onAfterAttach(msg: Message): void {
    this.markDirty();
  }

  private _onFrame = (time: number): void => {
    this._frame = 0;
    if (!this._dirty || !this.isVisible) {
      return;
    }
    if (time - this._lastRender < this.minInterval) {
      this._frame = requestAnimationFrame(this._onFrame); // too soon: try again next frame
      return;
    }
    this._renderNow(time);
  };

  private _renderNow(time: number): void {
    this._dirty = false;
    this._lastRender = time;
    this.render();
  }

  private _dirty = true;
  private _frame = 0;
  private _lastRender = -Infinity;
}

/** `document.createElement` with a class and text, for the hand-built views. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}
