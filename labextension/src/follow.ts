import type { ISessionContext } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import type { IKernelLike } from './comm';

/**
 * Calls `onKernel` with the kernel of the active notebook whenever it changes: another notebook
 * becomes current, or the current one switches or starts its kernel. (A restart keeps the kernel
 * connection; comm.ts handles that through the kernel's status.)
 */
export function followActiveKernel(
  tracker: INotebookTracker,
  onKernel: (kernel: IKernelLike | null) => void
): void {
  let watched: ISessionContext | null = null;
  const update = () => onKernel(watched?.session?.kernel ?? null);
  const watch = (panel: NotebookPanel | null) => {
    watched?.kernelChanged.disconnect(update);
    watched = panel?.sessionContext ?? null;
    watched?.kernelChanged.connect(update);
    update();
  };
  tracker.currentChanged.connect((_, panel) => watch(panel));
  watch(tracker.currentWidget);
}
