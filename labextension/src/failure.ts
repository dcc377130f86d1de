import { TERMINAL } from './fold';
import type { IExperiment, ITrial } from './model';

/**
 * Why an experiment failed, for the header: the engine decides (`maggy.core.failure`) and says so
 * in the result's `failure`; this only finds the first error to show with it, as the notebook's
 * live view does (`maggy_jupyter/live_view/state.py`).
 */

const FAILED = new Set(['ERROR', 'LOST']);

/** A frame line of maggy's worker modules (the loop and the call into the training function). */
const MAGGY_FRAME = /^ {2}File ".*[\\/]maggy[\\/]worker[\\/][^"\\/]+\.py", line \d+/;

/** `text` without the frames of maggy's worker modules (same rule as maggy.core.failure). */
export function userTraceback(text: string): string {
  const kept: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('  File "')) {
      skipping = MAGGY_FRAME.test(line);
    } else if (!line.startsWith('    ')) {
      skipping = false;
    }
    if (!skipping) {
      kept.push(line);
    }
  }
  return kept.join('\n');
}

/** The last `lines` non-blank lines of `userTraceback(text)`. */
export function errorTail(text: string, lines = 8): string {
  const shown = userTraceback(text)
    .split('\n')
    .filter(line => line.trim() !== '');
  return shown.slice(-lines).join('\n');
}

export interface IFailure {
  /** FAILED: the result's reason; running: a warning that every trial so far failed. */
  text: string;
  /** Whether the experiment ended FAILED (else it is a warning while it runs). */
  failed: boolean;
  /** `trial N:` and the first failed trial's last traceback lines, or null. */
  firstError: string | null;
}

/** What the header shows about failures of `exp`, or null when there is nothing to say. */
export function failureOf(exp: IExperiment): IFailure | null {
  const trials = [...exp.trials.values()];
  const failedTrials = trials.filter(t => FAILED.has(t.state));
  const ended = trials.filter(t => TERMINAL.has(t.state));
  let text: string;
  let failed = false;
  if (exp.summary.status === 'FAILED') {
    failed = true;
    const reason = exp.summary.failure ?? (exp.result?.failure as string | null | undefined);
    text = reason ?? 'the experiment failed';
  } else if (exp.summary.live && failedTrials.length > 0 && ended.every(t => FAILED.has(t.state))) {
    text = `every trial so far failed (${failedTrials.length})`;
  } else {
    return null;
  }
  // the first to fail: earliest end, then lowest id
  const order = (t: ITrial): [number, number] => [t.end ?? Infinity, t.id];
  let first: ITrial | null = null;
  for (const t of failedTrials) {
    const [a, b] = [order(t), first === null ? null : order(first)];
    if (b === null || a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])) {
      first = t;
    }
  }
  const firstError =
    first !== null && first.error ? `trial ${first.id}:\n${errorTail(first.error)}` : null;
  return { text, failed, firstError };
}
