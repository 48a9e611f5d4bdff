// The headline figures: one tile per metric with its change against the
// previous period (arrow, words and colour, never colour alone). Selecting a
// tile charts that metric.
import { type AggregateResult, stats } from './api';
import type { Cell } from './csv';
import { h, hidden, replace } from './dom';
import { formatMetric, formatNumber } from './format';

const millions = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 2 });
import { HIGHER_IS_BETTER, METRICS, METRIC_LABELS, type Metric } from './state';
import { type Section, type View, baseParams } from './view';

interface Figure {
  value: number;
  change?: number;
}

export class Tiles implements Section {
  readonly el: HTMLElement;
  private readonly buttons = new Map<Metric, HTMLButtonElement>();
  private figures: Partial<Record<Metric, Figure>> = {};

  constructor(onSelect: (metric: Metric) => void) {
    this.el = h(
      'ul',
      { class: 'gh-tiles', 'aria-label': 'Figures for the period. Select one to chart it.' },
      METRICS.map((m) => {
        const b = h(
          'button',
          { type: 'button', class: 'gh-tile', 'data-metric': m, 'aria-pressed': 'false', onclick: () => onSelect(m) },
          h('span', { class: 'gh-tile__label' }, METRIC_LABELS[m]),
          h('span', { class: 'gh-tile__value' }, '–'),
          h('span', { class: 'gh-tile__change' }),
        );
        this.buttons.set(m, b);
        return h('li', { class: 'gh-tiles__item' }, b);
      }),
    );
  }

  select(metric: Metric): void {
    for (const [m, b] of this.buttons) b.setAttribute('aria-pressed', String(m === metric));
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
    this.select(view.state.metric);
    this.el.setAttribute('aria-busy', 'true');
    this.el.classList.add('gh-tiles--loading');
    try {
      const params: Record<string, string> = { ...baseParams(view), metrics: METRICS.join(',') };
      if (view.state.compare) params.compare = view.state.compareWith;
      const r = await stats<AggregateResult>('aggregate', params, signal);
      if (signal.aborted) return;
      this.figures = r.results as Partial<Record<Metric, Figure>>;
      this.against = view.state.compareWith === 'year_over_year' ? ' on the same days last year' : ' on the previous period';
      for (const m of METRICS) this.render(m, this.figures[m], view.state.compare);
      // The first meaningful paint: the headline figures are on the page.
      if (!performance.getEntriesByName('glasshouse:figures').length) performance.mark('glasshouse:figures');
    } catch (e) {
      if (signal.aborted || (e as Error).name === 'AbortError') return;
      this.figures = {};
      for (const m of METRICS) this.render(m, undefined, false, (e as Error).message);
    } finally {
      if (!signal.aborted) {
        this.el.removeAttribute('aria-busy');
        this.el.classList.remove('gh-tiles--loading');
      }
    }
  }

  /** What changes are measured against, in words. */
  private against = ' on the previous period';

  private render(m: Metric, f: Figure | undefined, compare: boolean, error?: string): void {
    const b = this.buttons.get(m)!;
    const value = b.querySelector('.gh-tile__value')!;
    const change = b.querySelector('.gh-tile__change')!;
    if (!f) {
      b.removeAttribute('data-value');
      b.removeAttribute('data-change');
      replace(value, '–');
      replace(change, error ? hidden(`Not available: ${error}`) : '');
      return;
    }
    b.setAttribute('data-value', String(f.value));
    // Seven digits do not fit a tile: a million and more is shortened,
    // with the whole number beside it for screen readers and on hover.
    const full = formatMetric(m, f.value);
    const short = f.value >= 1_000_000 ? `${millions.format(f.value / 1_000_000)}M` : full;
    if (short === full) {
      value.removeAttribute('title');
      replace(value, full);
    } else {
      value.setAttribute('title', full);
      replace(value, h('span', { 'aria-hidden': 'true' }, short), hidden(full));
    }
    change.className = 'gh-tile__change';
    if (!compare || f.change == null) {
      b.removeAttribute('data-change');
      replace(change);
      return;
    }
    const c = f.change;
    b.setAttribute('data-change', String(c));
    const unit = m === 'bounce_rate' ? (Math.abs(c) === 1 ? ' pt' : ' pts') : '%';
    const amount = `${formatNumber(Math.abs(c))}${unit}`;
    if (c === 0) {
      change.classList.add('gh-tile__change--none');
      replace(change, h('span', { 'aria-hidden': 'true' }, '= '), 'no change', hidden(this.against));
    } else {
      const up = c > 0;
      const good = up === HIGHER_IS_BETTER[m];
      change.classList.add(good ? 'gh-tile__change--good' : 'gh-tile__change--bad');
      replace(
        change,
        h('span', { 'aria-hidden': 'true', class: 'gh-tile__arrow' }, up ? '↑' : '↓'),
        hidden(up ? 'up ' : 'down '),
        amount,
        hidden(this.against),
      );
    }
  }

  exportRows(): Cell[][] {
    const rows: Cell[][] = [];
    for (const m of METRICS) {
      const f = this.figures[m];
      if (!f) continue;
      rows.push(['Summary', '', m, f.value]);
      if (f.change != null) rows.push(['Summary', 'change on previous period', m, f.change]);
    }
    return rows;
  }
}
