import type { IExperiment } from './model';

/** "maggy: 6/20 trials, 2 running" (or the final best once the experiment ended). */
export function statusText(exp: IExperiment | null): string {
  if (exp === null) {
    return 'maggy';
  }
  const s = exp.summary;
  const head = `maggy: ${s.done ?? 0}/${s.num_trials} trials`;
  if (s.live) {
    return `${head}, ${s.running ?? 0} running`;
  }
  const best = s.best?.metric;
  return best === null || best === undefined
    ? `${head}, ${s.status.toLowerCase()}`
    : `${head}, best ${formatNumber(best)}`;
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
