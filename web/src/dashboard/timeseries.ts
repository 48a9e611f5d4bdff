// The chart of the chosen metric over the period, with the previous period
// as a dashed line when comparing, and the same figures as a table.
import { type RowsResult, stats } from './api';
import { type Cell, downloadCsv, slug } from './csv';
import { h, hidden, replace } from './dom';
import { formatBucket, formatDate, formatMetric } from './format';
import {
  INTERVAL_LABELS,
  METRIC_LABELS,
  type Interval,
  type Metric,
  defaultInterval,
  intervalsFor,
  comparedRange,
  importedDays,
  type ImportedDays,
} from './state';
import { type Section, type View, baseParams } from './view';
import { cardFrame, message } from './cards';
import type { AnnotationsPanel, Note } from './annotations';

export interface Series {
  metric: Metric;
  interval: Interval;
  labels: string[];
  current: number[];
  previous: number[] | null;
  previousLabels: string[];
  currentName: string;
  previousName: string;
  /** Per bucket: whether it holds days imported from Plausible. */
  imported: boolean[];
  /** Per bucket: the annotations of its days. */
  notes: string[][];
}

/** Per label: the texts of the notes on its bucket's days. */
function notesByBucket(labels: string[], notes: Note[]): string[][] {
  return labels.map((l, i) => {
    const start = l.slice(0, 10);
    const next = labels[i + 1]?.slice(0, 10);
    return notes.filter((n) => n.date >= start && (next === undefined || n.date < next)).map((n) => `${formatDate(n.date)}: ${n.text}`);
  });
}

/** Why imported days are not in an answer, in words. */
const SKIPPED: Record<string, string> = {
  unsupported_query: 'Imported data is not included: it holds daily totals only, which cannot be filtered.',
  unsupported_interval: 'Imported data is not included: it holds daily totals, not hours.',
};

/** Per label: whether its bucket overlaps the imported days. */
function importedBuckets(labels: string[], days: ImportedDays | null): boolean[] {
  if (!days) return labels.map(() => false);
  return labels.map((l, i) => {
    const start = l.slice(0, 10);
    const next = labels[i + 1]?.slice(0, 10);
    return start <= days.until && (next === undefined || next > days.from);
  });
}

type ChartModule = typeof import('./chart');

export class TimeseriesCard implements Section {
  readonly el: HTMLElement;
  private readonly title: HTMLElement;
  private readonly chart: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly tableBody: HTMLElement;
  private readonly status: HTMLElement;
  private readonly intervalSelect: HTMLSelectElement;
  private series: Series | null = null;
  private drawn: ChartModule | null = null;

  constructor(
    private readonly chartModule: Promise<ChartModule>,
    onInterval: (interval: Interval) => void,
    private readonly notes: AnnotationsPanel | null = null,
  ) {
    const frame = cardFrame('timeseries', 'Chart', () => this.download());
    this.el = frame.el;
    this.el.classList.add('gh-card--chart');
    this.title = frame.header.querySelector('h2')!;
    this.intervalSelect = h('select', {
      class: 'govuk-select gh-select--small',
      id: 'interval',
      onchange: () => onInterval(this.intervalSelect.value as Interval),
    });
    frame.header.appendChild(
      h('div', { class: 'gh-inline-field' }, h('label', { class: 'govuk-label gh-inline-field__label', for: 'interval' }, 'Show by'), this.intervalSelect),
    );
    this.legend = h('p', { class: 'gh-legend' });
    this.status = h('div', { class: 'gh-chart__status' });
    this.chart = h('div', { class: 'gh-chart', role: 'img', 'aria-label': 'Chart loading' });
    this.tableBody = h('div', { class: 'gh-chart-table' });
    frame.body.append(
      this.legend,
      this.status,
      this.chart,
      h(
        'details',
        { class: 'govuk-details gh-chart-details' },
        h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Show the chart as a table')),
        h('div', { class: 'govuk-details__text' }, this.tableBody),
      ),
    );
    if (this.notes) frame.body.append(this.notes.el);
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
    const { state, range } = view;
    const allowed = intervalsFor(range);
    const interval = state.interval && allowed.includes(state.interval) ? state.interval : defaultInterval(range);
    replace(
      this.intervalSelect,
      (allowed.includes(interval) ? allowed : [interval, ...allowed]).map((i) =>
        h('option', { value: i, selected: i === interval }, INTERVAL_LABELS[i]),
      ),
    );
    this.intervalSelect.disabled = allowed.length < 2;
    replace(this.title, METRIC_LABELS[state.metric], hidden(' over time'));
    this.el.setAttribute('aria-busy', 'true');
    this.el.classList.add('gh-card--loading');
    try {
      const params = { ...baseParams(view), metrics: state.metric, interval };
      const prev = comparedRange(state, range);
      const [cur, before, mod, notes] = await Promise.all([
        stats<RowsResult & { imports_included?: boolean; imports_skip_reason?: string }>('timeseries', params, signal),
        state.compare
          ? stats<RowsResult>('timeseries', { ...params, period: 'custom', date: `${prev.first},${prev.last}` }, signal)
          : Promise.resolve(null),
        this.chartModule,
        this.notes ? this.notes.load().catch(() => [] as Note[]) : Promise.resolve([] as Note[]),
      ]);
      if (signal.aborted) return;
      const metric = state.metric;
      this.series = {
        metric,
        interval,
        labels: cur.results.map((r) => String(r.date)),
        current: cur.results.map((r) => Number(r[metric]) || 0),
        previous: before ? before.results.map((r) => Number(r[metric]) || 0) : null,
        previousLabels: before ? before.results.map((r) => String(r.date)) : [],
        currentName: rangeName(range.first, range.last),
        previousName: rangeName(prev.first, prev.last),
        imported: importedBuckets(
          cur.results.map((r) => String(r.date)),
          cur.imports_included ? importedDays() : null,
        ),
        notes: notesByBucket(
          cur.results.map((r) => String(r.date)),
          notes,
        ),
      };
      this.renderLegend();
      this.renderTable();
      replace(this.status);
      const s = this.series;
      this.chart.setAttribute('aria-label', describe(s));
      if (s.current.every((v) => v === 0) && (!s.previous || s.previous.every((v) => v === 0))) {
        replace(this.status, message('Nothing recorded in this period.'));
      } else if (cur.imports_skip_reason && SKIPPED[cur.imports_skip_reason]) {
        replace(this.status, message(SKIPPED[cur.imports_skip_reason]));
      }
      mod.drawTimeseries(this.chart, s);
      this.drawn = mod;
      this.notes?.show(range.first, range.last);
    } catch (e) {
      if (signal.aborted || (e as Error).name === 'AbortError') return;
      this.series = null;
      replace(this.status, message(`Could not load the chart: ${(e as Error).message}`, 'error'));
      replace(this.tableBody);
      replace(this.legend);
    } finally {
      if (!signal.aborted) {
        this.el.removeAttribute('aria-busy');
        this.el.classList.remove('gh-card--loading');
      }
    }
  }

  /** Draws the chart again with the notes as they are now. */
  redrawNotes(notes: Note[]): void {
    if (!this.series || !this.drawn) return;
    this.series.notes = notesByBucket(this.series.labels, notes);
    this.renderTable();
    this.drawn.drawTimeseries(this.chart, this.series);
  }

  private renderLegend(): void {
    const s = this.series!;
    replace(
      this.legend,
      h('span', { class: 'gh-legend__item' }, h('span', { class: 'gh-legend__swatch', 'aria-hidden': 'true' }), s.currentName),
      s.previous
        ? h(
            'span',
            { class: 'gh-legend__item' },
            h('span', { class: 'gh-legend__swatch gh-legend__swatch--previous', 'aria-hidden': 'true' }),
            `Previous period: ${s.previousName}`,
          )
        : null,
      s.imported.some((x) => x)
        ? h(
            'span',
            { class: 'gh-legend__item' },
            h('span', { class: 'gh-legend__swatch gh-legend__swatch--imported', 'aria-hidden': 'true' }),
            `Imported from Plausible: up to ${formatDate(importedDays()!.until)}`,
          )
        : null,
    );
  }

  private renderTable(): void {
    const s = this.series!;
    const cell = (v: number) => h('td', { class: 'govuk-table__cell govuk-table__cell--numeric' }, formatMetric(s.metric, v));
    replace(
      this.tableBody,
      h(
        'table',
        { class: 'govuk-table gh-table--compact' },
        h('caption', { class: 'govuk-table__caption govuk-table__caption--s' }, `${METRIC_LABELS[s.metric]}, ${s.currentName}`),
        h(
          'thead',
          { class: 'govuk-table__head' },
          h(
            'tr',
            { class: 'govuk-table__row' },
            h('th', { scope: 'col', class: 'govuk-table__header' }, 'Time'),
            h('th', { scope: 'col', class: 'govuk-table__header govuk-table__header--numeric' }, METRIC_LABELS[s.metric]),
            s.previous ? h('th', { scope: 'col', class: 'govuk-table__header' }, 'Previous period') : null,
            s.previous ? h('th', { scope: 'col', class: 'govuk-table__header govuk-table__header--numeric' }, METRIC_LABELS[s.metric]) : null,
            s.notes.some((n) => n.length) ? h('th', { scope: 'col', class: 'govuk-table__header' }, 'Annotations') : null,
          ),
        ),
        h(
          'tbody',
          { class: 'govuk-table__body' },
          s.labels.map((label, i) =>
            h(
              'tr',
              { class: 'govuk-table__row' },
              h('th', { scope: 'row', class: 'govuk-table__header' }, formatBucket(label, s.interval, true), s.imported[i] ? ' (imported)' : ''),
              cell(s.current[i]),
              s.previous ? h('td', { class: 'govuk-table__cell' }, s.previousLabels[i] ? formatBucket(s.previousLabels[i], s.interval, true) : '') : null,
              s.previous ? (s.previous[i] != null ? cell(s.previous[i]) : h('td', { class: 'govuk-table__cell' })) : null,
              s.notes.some((n) => n.length) ? h('td', { class: 'govuk-table__cell' }, s.notes[i].join('; ')) : null,
            ),
          ),
        ),
      ),
    );
  }

  private download(): void {
    const s = this.series;
    if (!s) return;
    const rows: Cell[][] = [['Time', s.metric, ...(s.previous ? ['Previous period time', `Previous period ${s.metric}`] : []), 'Annotations']];
    s.labels.forEach((l, i) => rows.push([l, s.current[i], ...(s.previous ? [s.previousLabels[i] ?? '', s.previous[i] ?? null] : []), s.notes[i].join('; ')]));
    downloadCsv(`timeseries-${slug(s.metric)}-${slug(s.labels[0] ?? '')}.csv`, rows);
  }

  exportRows(): Cell[][] {
    const s = this.series;
    if (!s) return [];
    return [
      ...s.labels.map((l, i): Cell[] => ['Timeseries', l, s.metric, s.current[i]]),
      ...(s.previous ? s.previousLabels.map((l, i): Cell[] => ['Timeseries (previous period)', l, s.metric, s.previous![i]]) : []),
      ...s.labels.flatMap((l, i) => s.notes[i].map((n): Cell[] => ['Annotation', l, '', n])),
    ];
  }
}

function rangeName(first: string, last: string): string {
  return first === last ? formatDate(first) : `${formatDate(first)} to ${formatDate(last)}`;
}

function describe(s: Series): string {
  const label = METRIC_LABELS[s.metric].toLowerCase();
  if (!s.current.length) return `Line chart of ${label}: no data.`;
  let top = 0;
  s.current.forEach((v, i) => {
    if (v > s.current[top]) top = i;
  });
  const total = s.current.length;
  return (
    `Line chart of ${label} per ${s.interval}, ${s.currentName}` +
    (s.previous ? `, compared with ${s.previousName}` : '') +
    (s.imported.some((x) => x) ? '; the shaded part was imported from Plausible' : '') +
    `. ${total} points; the highest is ${formatMetric(s.metric, s.current[top])} at ${formatBucket(s.labels[top], s.interval, true)}.` +
    ' The figures are in the table below the chart.'
  );
}
