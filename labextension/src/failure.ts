import type { TranslationBundle } from '@jupyterlab/translation';

import type { IExperimentSummary } from './protocol';

/**
 * What the header says about failures. The kernel decides all of it (docs/protocol.md,
 * *summary*: `failure` for a FAILED experiment, `warning` while one runs, `first_error` with
 * maggy's frames already removed); this only chooses which to show and labels it.
 */

export interface IFailure {
  /** FAILED: the kernel's reason; running: the kernel's warning. */
  text: string;
  /** Whether the experiment ended FAILED (else it is a warning while it runs). */
  failed: boolean;
  /** `trial N:` and the first failed trial's error tail as the kernel sent it, or null. */
  firstError: string | null;
}

/** What the header shows about failures of the experiment `s`, or null: nothing to say. */
export function failureOf(
  s: IExperimentSummary,
  trans: TranslationBundle
): IFailure | null {
  let text: string;
  let failed: boolean;
  if (s.status === 'FAILED') {
    failed = true;
    text = s.failure ?? trans.__('the experiment failed');
  } else if (s.warning) {
    failed = false;
    text = s.warning;
  } else {
    return null;
  }
  const first = s.first_error;
  // the error text stays out of the format string: gettext would rewrite any '%%' in it
  const firstError = first
    ? `${trans.__('trial %1:', first.trial_id)}\n${first.text}`
    : null;
  return { text, failed, firstError };
}
