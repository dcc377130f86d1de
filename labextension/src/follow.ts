import type { ISessionContext } from '@jupyterlab/apputils';
import type { ISignal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import type { IKernelLike } from './comm';

/** What is read of JupyterLab's shell (ILabShell) or notebook tracker (INotebookTracker). */
export interface IShellLike {
  readonly currentWidget: Widget | null;
  readonly currentChanged: ISignal<any, unknown>;
}

/** The part of a session context followed here (tests fake it). */
type ISessionLike = Pick<
  ISessionContext,
  'session' | 'kernelChanged' | 'disposed' | 'isDisposed'
>;

/**
 * Calls `onKernel` with the kernel of the active notebook or console whenever it changes:
 * another notebook or console becomes the current widget of the main area, or the current one
 * switches or starts its kernel, or closes. (A restart keeps the kernel connection; comm.ts
 * handles that through the kernel's status.)
 *
 * With JupyterLab's `shell`, any main-area widget with a `sessionContext` counts (notebooks,
 * consoles); a current widget without one (a text editor, the launcher) keeps the kernel
 * followed so far, as the notebook tracker keeps its current notebook. When the followed
 * notebook or console closes, the tracker's current notebook takes over, else none. Without a
 * shell (Notebook 7), the `tracker` alone is followed.
 */
export function followActiveKernel(
  shell: IShellLike | null,
  tracker: IShellLike | null,
  onKernel: (kernel: IKernelLike | null) => void
): void {
  let watched: ISessionLike | null = null;
  let started = false;
  const update = () =>
    onKernel((watched?.session?.kernel as IKernelLike | undefined) ?? null);
  const fallback = () => {
    const ctx = sessionOf(tracker?.currentWidget ?? null);
    return ctx?.isDisposed ? null : ctx;
  };
  const onDisposed = () => watch(fallback());
  const watch = (ctx: ISessionLike | null) => {
    if (ctx === watched && started) {
      return;
    }
    started = true;
    watched?.kernelChanged.disconnect(update);
    watched?.disposed.disconnect(onDisposed);
    watched = ctx;
    watched?.kernelChanged.connect(update);
    watched?.disposed.connect(onDisposed);
    update();
  };
  if (shell !== null) {
    const onCurrent = () => {
      const ctx = sessionOf(shell.currentWidget);
      if (ctx !== null) {
        watch(ctx);
      } else if (watched === null || watched.isDisposed) {
        watch(fallback());
      }
    };
    shell.currentChanged.connect(onCurrent);
    tracker?.currentChanged.connect(() => {
      if (watched === null) {
        watch(fallback()); // e.g. the first notebook opened in the background
      }
    });
    watch(sessionOf(shell.currentWidget) ?? fallback());
  } else if (tracker !== null) {
    tracker.currentChanged.connect(() => watch(fallback()));
    watch(fallback());
  } else {
    watch(null);
  }
}

/** The session context of a notebook or console panel; null for other widgets. */
function sessionOf(widget: Widget | null): ISessionLike | null {
  const ctx = (widget as { sessionContext?: ISessionLike } | null)
    ?.sessionContext;
  return ctx && typeof ctx.kernelChanged?.connect === 'function' ? ctx : null;
}
