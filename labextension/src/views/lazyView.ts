import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

/**
 * A widget that re-renders on the next animation frame after `markDirty`, once however many
 * changes came in between, and not at all while hidden (it catches up when shown).
 */
export abstract class LazyView extends Widget {
  markDirty(): void {
    this._dirty = true;
    if (this._frame === 0 && this.isVisible) {
      this._frame = requestAnimationFrame(() => {
        this._frame = 0;
        if (this._dirty && this.isVisible) {
          this._dirty = false;
          this.render();
        }
      });
    }
  }

  /** Bring the DOM up to date with the model now. */
  abstract render(): void;

  dispose(): void {
    if (this._frame !== 0) {
      cancelAnimationFrame(this._frame);
    }
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    if (this._dirty) {
      this.render();
      this._dirty = false;
    }
  }

  protected onAfterAttach(msg: Message): void {
    this.markDirty();
  }

  private _dirty = true;
  private _frame = 0;
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
