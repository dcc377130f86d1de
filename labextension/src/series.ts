import { Point } from './protocol';

/**
 * One trial's metric against step, bounded in memory.
 *
 * Holds at most `maxPoints` points (plus the newest one, `tail`, so the line always reaches the
 * latest step). Past that it halves its resolution: it keeps (about) every `stride`-th point
 * received and doubles `stride` each time it fills up, so the shape of a 100,000-step curve
 * survives in a few thousand points and each push is O(1) amortised. Extents cover every point
 * received, kept or not. Points with a null value (NaN in the trial) count but are not drawn.
 */
export class TrialSeries {
  constructor(maxPoints: number) {
    this.maxPoints = Math.max(4, Math.floor(maxPoints));
  }

  readonly maxPoints: number;
  steps: number[] = [];
  values: number[] = [];
  /** The newest point when it is not also a kept one. */
  tail: [number, number] | null = null;
  stride = 1;
  received = 0;
  minStep = Infinity;
  maxStep = -Infinity;
  minValue = Infinity;
  maxValue = -Infinity;

  get last(): [number, number] | null {
    if (this.tail !== null) {
      return this.tail;
    }
    const n = this.steps.length;
    return n === 0 ? null : [this.steps[n - 1], this.values[n - 1]];
  }

  /** Points a renderer would draw (kept ones plus the tail). */
  get length(): number {
    return this.steps.length + (this.tail === null ? 0 : 1);
  }

  push(point: Point): void {
    const index = this.received++;
    const [step, value] = point;
    if (value === null || !Number.isFinite(value) || !Number.isFinite(step)) {
      return;
    }
    this.minStep = Math.min(this.minStep, step);
    this.maxStep = Math.max(this.maxStep, step);
    this.minValue = Math.min(this.minValue, value);
    this.maxValue = Math.max(this.maxValue, value);
    if (index % this.stride !== 0) {
      this.tail = [step, value];
      return;
    }
    this.tail = null;
    this.steps.push(step);
    this.values.push(value);
    if (this.steps.length > this.maxPoints) {
      this._halve();
    }
  }

  private _halve(): void {
    // kept point j was received at index j * stride: even j are the multiples of 2 * stride
    const steps: number[] = [];
    const values: number[] = [];
    for (let j = 0; j < this.steps.length; j += 2) {
      steps.push(this.steps[j]);
      values.push(this.values[j]);
    }
    if (this.steps.length % 2 === 0) {
      const n = this.steps.length - 1;
      this.tail = [this.steps[n], this.values[n]];
    }
    this.steps = steps;
    this.values = values;
    this.stride *= 2;
  }
}
