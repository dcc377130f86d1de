import type { TranslationBundle } from '@jupyterlab/translation';

import { formatNumber } from '../format';
import type { IAnalysis } from '../protocol';
import { el } from './lazyView';
import {
  axisTitle,
  extent,
  IScale,
  linear,
  niceTicks,
  rampColor,
  svgEl,
  xAxis,
  yAxis
} from './svg';

/**
 * Draws one `analysis` payload (docs/protocol.md, *analysis*) as SVG: optimization history with
 * the best-so-far steps, parallel coordinates coloured by metric, importance bars, one slice
 * scatter per parameter and, for an ablation, each component's delta. It computes nothing the
 * kernel already did; it only maps numbers to pixels.
 *
 * Every mark of a trial carries `data-trial` (and `data-metric`); other marks with something to
 * say carry `data-tip`. One delegated listener on the root shows the tooltip for whatever mark
 * the pointer is over (a trial's id, metric and params, from the payload's `params`), so
 * thousands of marks cost no listeners and a redraw keeps the hover working.
 */
export class AnalysisRenderer {
  constructor(root: HTMLElement, trans: TranslationBundle) {
    this.root = root;
    this._trans = trans;
    root.classList.add('maggy-Analysis-plots');
    root.addEventListener('mouseover', this._onOver);
    root.addEventListener('mouseleave', () => this.hideTooltip());
  }

  readonly root: HTMLElement;

  get payload(): IAnalysis | null {
    return this._payload;
  }

  /** The floating hover box (hidden when the pointer is over no mark). */
  get tooltip(): HTMLElement {
    return this._tooltip;
  }

  /** Replace the drawing with `payload`'s. */
  render(payload: IAnalysis): void {
    this._payload = payload;
    const trans = this._trans;
    this.root.replaceChildren();
    this.hideTooltip();
    const sections: [string, string, (parent: HTMLElement) => void][] = [
      ['history', trans.__('Optimization history'), p => this._history(p)],
      [
        'importance',
        trans.__('Hyperparameter importance'),
        p => this._importance(p)
      ],
      ['parallel', trans.__('Parallel coordinates'), p => this._parallel(p)],
      ['slices', trans.__('Slices'), p => this._slices(p)]
    ];
    if (payload.ablation !== null) {
      sections.unshift([
        'ablation',
        trans.__('Ablation: change of the metric without each component'),
        p => this._ablation(p)
      ]);
    }
    for (const [name, title, draw] of sections) {
      const section = el('section', 'maggy-Analysis-section');
      section.dataset.plot = name;
      section.append(el('h3', 'maggy-Analysis-title', title));
      this.root.append(section);
      draw(section);
    }
    this.root.append(this._tooltip);
  }

  /** The hover text of trial `trialId`: id and metric, then one `name = value` per param. */
  hoverText(trialId: number, metric: number | null): string {
    const params = this._payload?.params[String(trialId)] ?? {};
    const lines = [
      this._trans.__('trial %1 · metric %2', trialId, formatNumber(metric))
    ];
    for (const [name, value] of Object.entries(params)) {
      lines.push(
        `${name} = ${typeof value === 'number' ? formatNumber(value) : String(value)}`
      );
    }
    return lines.join('\n');
  }

  hideTooltip(): void {
    this._tooltip.hidden = true;
  }

  // ---- plots ------------------------------------------------------------------------------

  private _history(parent: HTMLElement): void {
    const h = this._payload!.history;
    const trans = this._trans;
    if (h.total === 0) {
      parent.append(this._empty());
      return;
    }
    this._note(parent, h.x.length, h.total);
    const box = {
      width: 640,
      height: 240,
      left: 60,
      right: 14,
      top: 10,
      bottom: 38
    };
    const svg = this._svg(parent, box);
    const xs = linear(
      [0.5, Math.max(2, h.total) + 0.5],
      [box.left, box.width - box.right]
    );
    const yRange = extent([...h.values, ...h.best_y]) ?? [0, 1];
    const ys = linear(yRange, [box.height - box.bottom, box.top]);
    const xTicks = niceTicks(1, Math.max(2, h.total), 6).filter(
      Number.isInteger
    );
    xAxis(
      svg,
      xs,
      box.height - box.bottom,
      xTicks.map(v => [v, String(v)])
    );
    yAxis(svg, ys, box.left, numberTicks(ys));
    axisTitle(
      svg,
      trans.__('trial (in the order trials ended)'),
      (box.left + box.width) / 2,
      box.height - 4
    );
    axisTitle(
      svg,
      trans.__('metric'),
      14,
      (box.top + box.height - box.bottom) / 2,
      true
    );
    // the best-so-far line under the dots, so that every dot gets the pointer
    let d = '';
    h.best_x.forEach((x, i) => {
      const y = h.best_y[i];
      if (y === null) {
        return;
      }
      d +=
        d === ''
          ? `M${round(xs(x))},${round(ys(y))}`
          : `H${round(xs(x))}V${round(ys(y))}`;
    });
    if (d !== '') {
      d += `H${round(xs(Math.max(2, h.total)))}`;
      const best = svgEl('path', { class: 'maggy-Analysis-best', d }, svg);
      best.setAttribute(
        'data-tip',
        h.best_id === null
          ? trans.__('best so far')
          : trans.__('best so far; best: trial %1', h.best_id)
      );
    }
    const dots = svgEl('g', { class: 'maggy-Analysis-dots' }, svg);
    h.x.forEach((x, i) => {
      const v = h.values[i];
      if (v === null) {
        return;
      }
      svgEl(
        'circle',
        {
          class: `maggy-Analysis-dot maggy-Analysis-state-${h.states[i].toLowerCase()}`,
          cx: round(xs(x)),
          cy: round(ys(v)),
          r: 3.5,
          'data-trial': h.trial_ids[i],
          'data-metric': v
        },
        dots
      );
    });
    const legend = el('div', 'maggy-Analysis-legend');
    for (const state of ['FINISHED', 'EARLY_STOPPED', 'STOPPED']) {
      if (h.states.includes(state)) {
        const item = el(
          'span',
          `maggy-Analysis-key maggy-Analysis-state-${state.toLowerCase()}`
        );
        item.textContent = state.toLowerCase().replace('_', '-');
        legend.append(item);
      }
    }
    const line = el(
      'span',
      'maggy-Analysis-key maggy-Analysis-key-best',
      trans.__('best so far')
    );
    legend.append(line);
    parent.append(legend);
  }

  private _importance(parent: HTMLElement): void {
    const imp = this._payload!.importance;
    const ranked = Object.entries(imp.importances).sort((a, b) => b[1] - a[1]);
    if (ranked.length === 0 || imp.n_trials === 0) {
      parent.append(this._empty());
      return;
    }
    const rowHeight = 22;
    const box = {
      width: 640,
      height: 16 + ranked.length * rowHeight + 24,
      left: 140,
      right: 60,
      top: 8,
      bottom: 24
    };
    const svg = this._svg(parent, box);
    const top = Math.max(...ranked.map(([, v]) => v), 1e-9);
    const xs = linear([0, top], [box.left, box.width - box.right]);
    xAxis(
      svg,
      xs,
      box.height - box.bottom,
      niceTicks(0, top, 4).map(v => [v, `${Math.round(v * 100)}%`])
    );
    ranked.forEach(([name, share], i) => {
      const y = box.top + i * rowHeight;
      const label = svgEl(
        'text',
        {
          class: 'maggy-Analysis-label',
          x: box.left - 6,
          y: y + 14,
          'text-anchor': 'end'
        },
        svg
      );
      label.textContent = shorten(name, 22);
      const std = imp.std[name];
      const tip = this._trans.__(
        '%1: %2% of the explained variance (± %3%)',
        name,
        (share * 100).toFixed(1),
        ((std ?? 0) * 100).toFixed(1)
      );
      label.setAttribute('data-tip', tip);
      svgEl(
        'rect',
        {
          class: 'maggy-Analysis-bar',
          x: box.left,
          y: y + 3,
          width: round(Math.max(1, xs(share) - box.left)),
          height: rowHeight - 6,
          'data-param': name,
          'data-tip': tip
        },
        svg
      );
      const value = svgEl(
        'text',
        { class: 'maggy-Analysis-value', x: round(xs(share)) + 4, y: y + 14 },
        svg
      );
      value.textContent = `${(share * 100).toFixed(1)}%`;
    });
    parent.append(
      el(
        'div',
        'maggy-Analysis-note',
        this._trans.__('%1 over %2 trials', imp.method, imp.n_trials)
      )
    );
  }

  private _parallel(parent: HTMLElement): void {
    const pc = this._payload!.parallel;
    const trans = this._trans;
    if (pc.total === 0) {
      parent.append(this._empty());
      return;
    }
    this._note(parent, pc.trial_ids.length, pc.total);
    const names = [...pc.axes.map(a => a.name), trans.__('metric')];
    const box = {
      width: Math.max(640, 120 * names.length),
      height: 280,
      left: 60,
      right: 60,
      top: 14,
      bottom: 40
    };
    const svg = this._svg(parent, box);
    const xs = linear(
      [0, Math.max(1, names.length - 1)],
      [box.left, box.width - box.right]
    );
    const ys = linear([0, 1], [box.height - box.bottom, box.top]);
    // lines first (under the axes), the best on top
    const order = pc.rows.map((_, i) => i);
    const unit = (i: number) => pc.rows[i][pc.rows[i].length - 1] ?? 0;
    order.sort((a, b) => unit(a) - unit(b));
    const lines = svgEl('g', { class: 'maggy-Analysis-lines' }, svg);
    for (const i of order) {
      let d = '';
      let pen = false;
      pc.rows[i].forEach((u, k) => {
        if (u === null) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${round(xs(k))},${round(ys(u))}`;
        pen = true;
      });
      svgEl(
        'path',
        {
          class: 'maggy-Analysis-line',
          d,
          stroke: rampColor(unit(i)),
          'data-trial': pc.trial_ids[i],
          'data-metric': pc.metric[i] ?? ''
        },
        lines
      );
    }
    const metricTicks = this._metricTicks();
    names.forEach((name, k) => {
      const ticks: [number, string][] =
        k < pc.axes.length
          ? pc.axes[k].ticks.filter((t): t is [number, string] => t[0] !== null)
          : metricTicks;
      yAxis(
        svg,
        ys,
        round(xs(k)),
        ticks.map(([u, label]) => [u, shorten(label, 9)])
      );
      const title = svgEl(
        'text',
        {
          class: 'maggy-AxisTitle',
          x: round(xs(k)),
          y: box.height - box.bottom + 20,
          'text-anchor': 'middle',
          'data-tip': name
        },
        svg
      );
      title.textContent = shorten(name, 16);
    });
  }

  /** The metric axis's ticks as heights: 1 is the best end (top), as the rows have it. */
  private _metricTicks(): [number, string][] {
    const { metric_range: range, metric } = this._payload!.parallel;
    const direction = this._payload!.direction;
    const given =
      range !== null && range[0] !== null && range[1] !== null
        ? ([range[0], range[1]] as [number, number])
        : null;
    const [lo, hi] = given ?? extent(metric) ?? [0, 1];
    if (!(hi > lo)) {
      return [[0.5, formatNumber(lo)]];
    }
    return niceTicks(lo, hi, 5).map(v => {
      const u = (v - lo) / (hi - lo);
      return [direction === 'min' ? 1 - u : u, formatNumber(v)];
    });
  }

  private _slices(parent: HTMLElement): void {
    const panels = this._payload!.slices;
    const direction = this._payload!.direction;
    if (panels.length === 0 || panels.every(s => s.total === 0)) {
      parent.append(this._empty());
      return;
    }
    const grid = el('div', 'maggy-Analysis-sliceGrid');
    parent.append(grid);
    for (const s of panels) {
      const cell = el('div', 'maggy-Analysis-slice');
      cell.dataset.param = s.name;
      const title = el('div', 'maggy-Analysis-sliceTitle', s.name);
      title.title = s.name;
      cell.append(title);
      grid.append(cell);
      const box = {
        width: 230,
        height: 170,
        left: 46,
        right: 8,
        top: 6,
        bottom: 30
      };
      const svg = this._svg(cell, box);
      let xs: IScale;
      let xTicks: [number, string][];
      if (s.choices !== null) {
        xs = linear(
          [-0.5, s.choices.length - 0.5],
          [box.left, box.width - box.right]
        );
        xTicks = s.choices.map((c, i) => [i, shorten(c, 8)]);
      } else {
        const [lo, hi] = extent(s.x) ?? [0, 1];
        xs = linear([lo, hi], [box.left + 4, box.width - box.right - 4]);
        xTicks = niceTicks(xs.domain[0], xs.domain[1], 4).map(v => [
          v,
          formatNumber(v)
        ]);
      }
      const yRange = extent(s.metric) ?? [0, 1];
      const ys = linear(yRange, [box.height - box.bottom - 4, box.top + 4]);
      xAxis(svg, xs, box.height - box.bottom, xTicks);
      yAxis(svg, ys, box.left, numberTicks(ys, 4));
      const [lo, hi] = ys.domain;
      const g = svgEl('g', { class: 'maggy-Analysis-dots' }, svg);
      s.x.forEach((x, i) => {
        const m = s.metric[i];
        if (x === null || m === null) {
          return;
        }
        const id = s.trial_ids[i];
        // a categorical's dots spread a little sideways, the same way on every redraw
        const jitter =
          s.choices !== null ? (((id * 0.618034) % 1) - 0.5) * 0.4 : 0;
        const u = (m - lo) / (hi - lo);
        svgEl(
          'circle',
          {
            class: 'maggy-Analysis-sliceDot',
            cx: round(xs(x + jitter)),
            cy: round(ys(m)),
            r: 3,
            fill: rampColor(direction === 'min' ? 1 - u : u),
            'data-trial': id,
            'data-metric': m
          },
          g
        );
      });
    }
  }

  private _ablation(parent: HTMLElement): void {
    const ab = this._payload!.ablation!;
    const trans = this._trans;
    const note =
      ab.base_id === null
        ? trans.__('no base trial (nothing ablated) has ended yet')
        : trans.__(
            'base (nothing removed): %1 (trial %2)%3',
            formatNumber(ab.base_val),
            ab.base_id,
            ab.most_important
              ? trans.__('; most important: %1', ab.most_important)
              : ''
          );
    parent.append(el('div', 'maggy-Analysis-note', note));
    const bars = ab.bars.filter(b => b.delta !== null);
    if (bars.length === 0) {
      return;
    }
    const rowHeight = 22;
    const box = {
      width: 640,
      height: 8 + bars.length * rowHeight + 34,
      left: 170,
      right: 60,
      top: 8,
      bottom: 34
    };
    const svg = this._svg(parent, box);
    const reach = Math.max(...bars.map(b => Math.abs(b.delta!)), 1e-9);
    const xs = linear([-reach, reach], [box.left, box.width - box.right]);
    xAxis(
      svg,
      xs,
      box.height - box.bottom,
      niceTicks(-reach, reach, 4).map(v => [v, formatNumber(v)])
    );
    axisTitle(
      svg,
      trans.__('metric without the component − base'),
      (box.left + box.width - box.right) / 2,
      box.height - 3
    );
    bars.forEach((b, i) => {
      const y = box.top + i * rowHeight;
      const label = svgEl(
        'text',
        {
          class: 'maggy-Analysis-label',
          x: box.left - 6,
          y: y + 14,
          'text-anchor': 'end',
          'data-tip': b.label
        },
        svg
      );
      label.textContent = shorten(b.label, 26);
      const [x0, x1] = [xs(0), xs(b.delta!)];
      svgEl(
        'rect',
        {
          class: `maggy-Analysis-delta ${b.hurt ? 'maggy-mod-hurt' : 'maggy-mod-helped'}`,
          x: round(Math.min(x0, x1)),
          y: y + 3,
          width: round(Math.max(1, Math.abs(x1 - x0))),
          height: rowHeight - 6,
          'data-trial': b.trial_id,
          'data-metric': b.metric ?? ''
        },
        svg
      );
    });
    svgEl(
      'line',
      {
        class: 'maggy-Analysis-zero',
        x1: xs(0),
        x2: xs(0),
        y1: box.top,
        y2: box.height - box.bottom
      },
      svg
    );
  }

  // ---- helpers ----------------------------------------------------------------------------

  private _svg(
    parent: HTMLElement,
    box: { width: number; height: number }
  ): SVGSVGElement {
    return svgEl(
      'svg',
      {
        class: 'maggy-Analysis-svg',
        width: box.width,
        height: box.height,
        viewBox: `0 0 ${box.width} ${box.height}`
      },
      parent
    );
  }

  private _empty(): HTMLElement {
    return el(
      'div',
      'maggy-Analysis-empty',
      this._trans.__('no trial with a metric yet')
    );
  }

  /** "showing 2000 of 10000 trials" when the kernel thinned the plot. */
  private _note(parent: HTMLElement, shown: number, total: number): void {
    if (shown < total) {
      parent.append(
        el(
          'div',
          'maggy-Analysis-note',
          this._trans.__(
            'showing %1 of %2 trials (the best kept)',
            shown,
            total
          )
        )
      );
    }
  }

  private _onOver = (event: MouseEvent): void => {
    const target = event.target as Element | null;
    const mark = target?.closest?.('[data-trial],[data-tip]');
    if (!mark || !this.root.contains(mark)) {
      this.hideTooltip();
      return;
    }
    const trial = mark.getAttribute('data-trial');
    if (trial !== null) {
      const raw = mark.getAttribute('data-metric');
      const metric = raw === null || raw === '' ? null : Number(raw);
      this._tooltip.textContent = this.hoverText(Number(trial), metric);
      this._tooltip.dataset.trial = trial;
    } else {
      this._tooltip.textContent = mark.getAttribute('data-tip') ?? '';
      delete this._tooltip.dataset.trial;
    }
    const rect = this.root.getBoundingClientRect();
    const x = event.clientX - rect.left + this.root.scrollLeft;
    const y = event.clientY - rect.top + this.root.scrollTop;
    this._tooltip.style.left = `${Math.round(x + 12)}px`;
    this._tooltip.style.top = `${Math.round(y + 12)}px`;
    this._tooltip.hidden = false;
  };

  private _payload: IAnalysis | null = null;
  private _trans: TranslationBundle;
  private _tooltip = Object.assign(el('div', 'maggy-Analysis-tooltip'), {
    hidden: true
  });
}

/** About `count` round ticks over a scale's domain, labelled as the panel formats numbers. */
function numberTicks(scale: IScale, count = 5): [number, string][] {
  return niceTicks(scale.domain[0], scale.domain[1], count).map(v => [
    v,
    formatNumber(v)
  ]);
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** `text` cut to `max` characters with an ellipsis (the whole text is in the mark's tooltip). */
function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
