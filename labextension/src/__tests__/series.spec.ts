import { TrialSeries } from '../series';

describe('TrialSeries', () => {
  it('keeps everything below the limit', () => {
    const s = new TrialSeries(100);
    for (let i = 0; i < 50; i++) {
      s.push([i, i * 2]);
    }
    expect(s.steps).toEqual([...Array(50).keys()]);
    expect(s.length).toBe(50);
    expect(s.last).toEqual([49, 98]);
  });

  it('bounds memory, keeps the newest point and the full extents', () => {
    const s = new TrialSeries(1000);
    for (let i = 0; i < 100000; i++) {
      s.push([i, Math.sin(i / 1000)]);
    }
    expect(s.length).toBeLessThanOrEqual(1001);
    expect(s.length).toBeGreaterThan(400);
    expect(s.received).toBe(100000);
    expect(s.last).toEqual([99999, Math.sin(99.999)]);
    expect(s.minStep).toBe(0);
    expect(s.maxStep).toBe(99999);
    expect(s.maxValue).toBeCloseTo(1, 5);
    expect(s.minValue).toBeCloseTo(-1, 5);
    // what is kept is still evenly spread over the steps
    const gaps = s.steps.slice(1).map((x, i) => x - s.steps[i]);
    expect(new Set(gaps).size).toBe(1);
  });

  it('counts null (NaN) values but does not draw them', () => {
    const s = new TrialSeries(100);
    s.push([0, 1]);
    s.push([1, null]);
    s.push([2, 3]);
    expect(s.received).toBe(3);
    expect(s.values).toEqual([1, 3]);
    expect(s.maxValue).toBe(3);
  });
});
