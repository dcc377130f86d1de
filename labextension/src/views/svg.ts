/**
 * The few SVG helpers the analysis tab draws with: elements, linear scales, round tick values,
 * axes and a colour ramp. Plain SVG is enough there: the kernel thins every plot to at most
 * 2,000 dots or 1,000 polylines, which the browser draws and hit-tests by itself (hover needs no
 * code of ours beyond one delegated listener), and it adds a few kilobytes to the bundle where a
 * charting library with parallel coordinates adds hundreds.
 */

const NS = 'http://www.w3.org/2000/svg';

/** `document.createElementNS` for SVG, with attributes, appended to `parent` if given. */
export function svgEl<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  parent?: Element
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    node.setAttribute(key, String(value));
  }
  parent?.appendChild(node);
  return node;
}

/** A linear map of `domain` onto `range`; a zero-width domain is widened so it still maps. */
export interface IScale {
  (value: number): number;
  readonly domain: [number, number];
}

export function linear(
  domain: [number, number],
  range: [number, number]
): IScale {
  let [d0, d1] = domain;
  if (!(d1 > d0)) {
    const pad = Math.abs(d0) > 0 ? Math.abs(d0) * 0.1 : 1;
    d0 -= pad;
    d1 += pad;
  }
  const [r0, r1] = range;
  const k = (r1 - r0) / (d1 - d0);
  const scale = ((v: number) => r0 + (v - d0) * k) as IScale;
  (scale as { domain: [number, number] }).domain = [d0, d1];
  return scale;
}

/** Smallest and largest finite value (null for none). */
export function extent(
  values: readonly (number | null)[]
): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v !== null && Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** About `count` round values (1, 2 or 5 times a power of ten) within `[lo, hi]`. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    return [lo];
  }
  const raw = (hi - lo) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step =
    [1, 2, 2.5, 5, 10].map(m => m * power).find(s => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/** Viridis-like ramp: 0 dark purple (worst), 1 yellow (best). */
const RAMP = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37]
];

export function rampColor(unit: number | null): string {
  if (unit === null || !Number.isFinite(unit)) {
    return '#999';
  }
  const t = Math.min(1, Math.max(0, unit)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const f = t - i;
  const c = RAMP[i].map((a, k) => Math.round(a + (RAMP[i + 1][k] - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export interface IPlotBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** A left (y) axis at `x` with labelled ticks; `ticks` are `[value, label]`. */
export function yAxis(
  parent: Element,
  scale: IScale,
  x: number,
  ticks: [number, string][]
): void {
  const g = svgEl('g', { class: 'maggy-Axis' }, parent);
  const [r0, r1] = [scale(scale.domain[0]), scale(scale.domain[1])];
  svgEl('line', { x1: x, x2: x, y1: r0, y2: r1 }, g);
  for (const [v, label] of ticks) {
    const y = scale(v);
    svgEl('line', { x1: x - 4, x2: x, y1: y, y2: y }, g);
    const text = svgEl('text', { x: x - 6, y: y + 3, 'text-anchor': 'end' }, g);
    text.textContent = label;
  }
}

/** A bottom (x) axis at `y` with labelled ticks. */
export function xAxis(
  parent: Element,
  scale: IScale,
  y: number,
  ticks: [number, string][]
): void {
  const g = svgEl('g', { class: 'maggy-Axis' }, parent);
  const [r0, r1] = [scale(scale.domain[0]), scale(scale.domain[1])];
  svgEl('line', { x1: r0, x2: r1, y1: y, y2: y }, g);
  for (const [v, label] of ticks) {
    const x = scale(v);
    svgEl('line', { x1: x, x2: x, y1: y, y2: y + 4 }, g);
    const text = svgEl('text', { x, y: y + 15, 'text-anchor': 'middle' }, g);
    text.textContent = label;
  }
}

/** An axis title, rotated for a y axis. */
export function axisTitle(
  parent: Element,
  text: string,
  x: number,
  y: number,
  vertical = false
): void {
  const node = svgEl(
    'text',
    {
      class: 'maggy-AxisTitle',
      x,
      y,
      'text-anchor': 'middle',
      ...(vertical ? { transform: `rotate(-90 ${x} ${y})` } : {})
    },
    parent
  );
  node.textContent = text;
}
