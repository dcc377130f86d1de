import type { TranslationBundle } from '@jupyterlab/translation';

import type { IExperiment } from './model';

/** "maggy: 6/20 trials, 2 running" (or the final best once the experiment ended). */
export function statusText(
  exp: IExperiment | null,
  trans: TranslationBundle
): string {
  if (exp === null) {
    return trans.__('maggy');
  }
  const s = exp.summary;
  const done = s.done ?? 0;
  if (s.live) {
    return trans.__(
      'maggy: %1/%2 trials, %3 running',
      done,
      s.num_trials,
      s.running ?? 0
    );
  }
  const best = s.best?.metric;
  return best === null || best === undefined
    ? trans.__(
        'maggy: %1/%2 trials, %3',
        done,
        s.num_trials,
        statusLabel(s.status, trans)
      )
    : trans.__(
        'maggy: %1/%2 trials, best %3',
        done,
        s.num_trials,
        formatNumber(best)
      );
}

/** An experiment status or trial state as shown: "finished", "early-stopped", ... */
export function statusLabel(status: string, trans: TranslationBundle): string {
  switch (status) {
    case 'PENDING':
      return trans.__('pending');
    case 'RUNNING':
      return trans.__('running');
    case 'FINISHED':
      return trans.__('finished');
    case 'EARLY_STOPPED':
      return trans.__('early-stopped');
    case 'STOPPED':
      return trans.__('stopped');
    case 'FAILED':
      return trans.__('failed');
    case 'ERROR':
      return trans.__('error');
    case 'LOST':
      return trans.__('lost');
    default:
      return status.toLowerCase().replace(/_/g, '-');
  }
}

/** Four significant digits; exponent form for very large or small magnitudes; '–' for none. */
export function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) {
    return '–';
  }
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0)
    ? x.toExponential(3)
    : String(Number(x.toPrecision(4)));
}
