// Cards of breakdowns (pages, sources, devices, ...): a title, tabs, a table
// with proportion bars behind the rows, "Show more", and a CSV download.
// Clicking a row's name filters the whole dashboard by it.
import { type Row, type RowsResult, numeric, stats } from './api';
import { type Cell, downloadCsv, slug } from './csv';
import { type Child, h, hidden, replace } from './dom';
import { formatMetric, formatMetricShort } from './format';
import { type Filter, type Metric, METRIC_LABELS, filterable } from './state';
import { type Host, type Section, type View, baseParams, stateLink } from './view';
import { type Tabs, tabs } from './tabs';

export const SHORT_METRIC_LABELS: Record<Metric, string> = {
  visitors: 'Visitors',
  visits: 'Visits',
  pageviews: 'Page views',
  views_per_visit: 'Views per visit',
  bounce_rate: 'Bounce rate',
  visit_duration: 'Visit duration',
  events: 'Events',
  scroll_depth: 'Scroll depth',
  time_on_page: 'Time on page',
  conversion_rate: 'Conversion rate',
  total_revenue: 'Revenue',
  average_revenue: 'Average',
};

export interface TabSpec {
  /** Tab text: "Top pages". */
  label: string;
  /** Stats API property: "event:page". */
  property: string;
  /** Heading of the first column: "Page". */
  column: string;
  /** For "Filter by page /a". */
  noun: string;
  metrics: Metric[];
  /** Filters added to the view's for this tab only. */
  extraFilters?: Filter[];
  /** How a value is shown (e.g. a country code as its name). */
  display?: (value: string) => string;
  /** Rows are pages: each gets an "Explore paths" link. */
  explore?: boolean;
  /** Metrics shown only where some row has them (revenue: revenue goals only). */
  optional?: Metric[];
}

/** The spec with its optional metrics that no row has left out. */
function shownSpec(spec: TabSpec, rows: Row[]): TabSpec {
  const absent = (m: Metric) => spec.optional?.includes(m) && rows.every((r) => r[m] == null);
  return { ...spec, metrics: spec.metrics.filter((m) => !absent(m)) };
}

/** The key of a property in breakdown rows: event:props:form → form. */
export function resultKey(property: string): string {
  return property.startsWith('event:props:') ? property.slice('event:props:'.length) : property.split(':').pop()!;
}

/** Engagement is read from engagement events, which a filter on an event's name or properties leaves out. */
const ENGAGEMENT: Metric[] = ['scroll_depth', 'time_on_page'];

export async function fetchBreakdown(view: View, spec: TabSpec, limit: number, signal: AbortSignal): Promise<Row[]> {
  const byEvent = view.state.filters.some((f) => f.prop === 'event:name' || f.prop.startsWith('event:props:'));
  const metrics = byEvent ? spec.metrics.filter((m) => !ENGAGEMENT.includes(m)) : spec.metrics;
  const r = await stats<RowsResult>(
    'breakdown',
    { ...baseParams(view, spec.extraFilters), property: spec.property, metrics: metrics.join(','), limit: String(limit) },
    signal,
  );
  return r.results;
}

/** The outer frame of a card. */
export function cardFrame(id: string, title: string, onDownload: () => void, downloadLabel = 'Download CSV'): {
  el: HTMLElement;
  header: HTMLElement;
  body: HTMLElement;
  footer: HTMLElement;
} {
  const headingId = `${id}-heading`;
  const header = h('div', { class: 'gh-card__header' }, h('h2', { class: 'gh-card__title', id: headingId }, title));
  const body = h('div', { class: 'gh-card__body' });
  const footer = h(
    'div',
    { class: 'gh-card__footer' },
    h(
      'button',
      { type: 'button', class: 'gh-link-button gh-download', onclick: onDownload, 'data-download': id },
      downloadLabel,
      downloadLabel === 'Download CSV' ? hidden(` of ${title.toLowerCase()}`) : null,
    ),
  );
  const el = h('section', { class: 'gh-card', id, 'aria-labelledby': headingId }, header, body, footer);
  return { el, header, body, footer };
}

/** A breakdown table. `onPick` is called with a row's value when its name is clicked. */
export function breakdownTable(
  spec: TabSpec,
  rows: Row[],
  caption: string,
  onPick: ((value: string) => void) | null,
  action: ((value: string) => HTMLElement | null) | null = null,
): HTMLTableElement {
  spec = shownSpec(spec, rows);
  const key = resultKey(spec.property);
  const first = spec.metrics[0];
  const max = Math.max(1, ...rows.map((r) => numeric(r[first])));
  const head = h(
    'thead',
    { class: 'govuk-table__head' },
    h(
      'tr',
      { class: 'govuk-table__row' },
      h('th', { scope: 'col', class: 'govuk-table__header' }, spec.column),
      spec.metrics.map((m) =>
        h('th', { scope: 'col', class: 'govuk-table__header govuk-table__header--numeric', 'data-metric': m }, SHORT_METRIC_LABELS[m]),
      ),
      action ? h('th', { scope: 'col', class: 'govuk-table__header gh-breakdown__action' }, hidden('Paths')) : null,
    ),
  );
  const body = h(
    'tbody',
    { class: 'govuk-table__body' },
    rows.map((row) => {
      const value = String(row[key] ?? '');
      const shown = spec.display ? spec.display(value) : value;
      const bar = h('span', { class: 'gh-bar', 'aria-hidden': 'true' });
      bar.style.width = `${(numeric(row[first]) / max) * 100}%`;
      const canFilter = onPick && filterable(value);
      const name: Child = canFilter
        ? h(
            'button',
            {
              type: 'button',
              class: 'gh-row-button',
              'data-value': value,
              title: shown.length > 36 ? shown : null,
              onclick: () => onPick(value),
            },
            hidden(`Filter by ${spec.noun} `),
            h('span', { class: 'gh-row-button__text' }, shown),
          )
        : h('span', { class: 'gh-row-text', title: shown.length > 36 ? shown : null }, shown);
      return h(
        'tr',
        { class: 'govuk-table__row gh-breakdown__row' },
        h('th', { scope: 'row', class: 'govuk-table__header gh-breakdown__name' }, bar, name),
        spec.metrics.map((m) => {
          if (row[m] == null) {
            // Engagement metrics: no reader of this page reported any.
            return h(
              'td',
              { class: 'govuk-table__cell govuk-table__cell--numeric gh-none', 'data-metric': m, title: 'Not reported' },
              h('span', { 'aria-hidden': 'true' }, '–'),
              hidden('not reported'),
            );
          }
          const cell = row[m];
          const v = numeric(cell);
          const money = typeof cell === 'object' ? cell : null;
          const full = money ? money.long : formatMetric(m, v);
          const short = money ? money.short : formatMetricShort(m, v);
          return h(
            'td',
            { class: 'govuk-table__cell govuk-table__cell--numeric', 'data-metric': m, 'data-value': String(v), title: short !== full ? full : null },
            short,
          );
        }),
        action ? h('td', { class: 'govuk-table__cell gh-breakdown__action' }, action(value)) : null,
      );
    }),
  );
  return h(
    'table',
    { class: 'govuk-table gh-breakdown', 'data-property': spec.property },
    h('caption', { class: 'govuk-visually-hidden' }, caption),
    head,
    body,
  );
}

export function csvFor(spec: TabSpec, rows: Row[]): Cell[][] {
  spec = shownSpec(spec, rows);
  const key = resultKey(spec.property);
  return [
    [spec.column, ...spec.metrics.map((m) => SHORT_METRIC_LABELS[m])],
    ...rows.map((r) => [String(r[key] ?? ''), ...spec.metrics.map((m) => (r[m] == null ? '' : numeric(r[m])))]),
  ];
}

export function longRows(section: string, spec: TabSpec, rows: Row[]): Cell[][] {
  spec = shownSpec(spec, rows);
  const key = resultKey(spec.property);
  return rows.flatMap((r) => spec.metrics.map((m): Cell[] => [section, String(r[key] ?? ''), m, r[m] == null ? '' : numeric(r[m])]))
}

export function message(text: string, kind: 'empty' | 'error' = 'empty'): HTMLElement {
  return h('p', { class: `gh-card__message gh-card__message--${kind}`, role: kind === 'error' ? 'alert' : null }, text);
}

const SHORT = 10;
const LONG = 100;

/** A card of breakdowns with one tab per property. */
export class BreakdownCard implements Section {
  readonly el: HTMLElement;
  protected readonly tabs: Tabs;
  protected readonly footer: HTMLElement;
  protected tab = 0;
  protected rows: Row[] = [];
  protected loadedTab = -1;
  private expanded = false;
  private more = false;
  private readonly moreButton: HTMLButtonElement;
  private lastView: View | null = null;
  private controller: AbortController | null = null;

  constructor(
    protected readonly host: Host,
    readonly id: string,
    readonly title: string,
    readonly specs: TabSpec[],
    /** Across the whole grid: for tables of several figures per row. */
    wide = false,
  ) {
    const frame = cardFrame(id, title, () => this.download());
    this.el = frame.el;
    if (wide) this.el.classList.add('gh-card--wide');
    this.footer = frame.footer;
    this.tabs = tabs(title, (i) => this.switchTab(i));
    this.tabs.setTabs(
      specs.map((s) => s.label),
      0,
    );
    if (specs.length > 1) frame.header.appendChild(this.tabs.list);
    frame.body.appendChild(this.tabs.panel);
    this.tabs.panel.appendChild(h('p', { class: 'gh-card__message' }, 'Loading…'));
    this.moreButton = h('button', { type: 'button', class: 'gh-link-button', hidden: true, onclick: () => this.toggleMore() }, 'Show more');
    this.footer.prepend(this.moreButton);
  }

  get spec(): TabSpec {
    return this.specs[this.tab];
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
    this.lastView = view;
    await this.fetchAndRender(view, signal);
  }

  private async switchTab(i: number): Promise<void> {
    this.tab = i;
    this.expanded = false;
    if (!this.lastView) return;
    this.controller?.abort();
    this.controller = new AbortController();
    await this.fetchAndRender(this.lastView, this.controller.signal).catch(() => {});
    this.host.announce(`Showing ${this.spec.label.toLowerCase()}`);
  }

  private async toggleMore(): Promise<void> {
    this.expanded = !this.expanded;
    if (!this.lastView) return;
    this.controller?.abort();
    this.controller = new AbortController();
    await this.fetchAndRender(this.lastView, this.controller.signal).catch(() => {});
  }

  protected async fetchAndRender(view: View, signal: AbortSignal): Promise<void> {
    const tab = this.tab;
    const spec = this.spec;
    const limit = this.expanded ? LONG : SHORT;
    this.el.setAttribute('aria-busy', 'true');
    this.el.classList.add('gh-card--loading');
    try {
      const rows = await fetchBreakdown(view, spec, limit + 1, signal);
      if (signal.aborted || tab !== this.tab) return;
      this.more = rows.length > limit;
      this.rows = rows.slice(0, limit);
      this.loadedTab = tab;
      this.render();
    } catch (e) {
      if (signal.aborted || (e as Error).name === 'AbortError') return;
      this.rows = [];
      this.loadedTab = -1;
      replace(this.tabs.panel, message(`Could not load ${spec.label.toLowerCase()}: ${(e as Error).message}`, 'error'));
      this.moreButton.hidden = true;
    } finally {
      if (!signal.aborted) {
        this.el.removeAttribute('aria-busy');
        this.el.classList.remove('gh-card--loading');
      }
    }
  }

  protected render(): void {
    const spec = this.spec;
    if (!this.rows.length) {
      replace(this.tabs.panel, message('Nothing recorded in this period.'));
    } else {
      replace(
        this.tabs.panel,
        breakdownTable(
          spec,
          this.rows,
          `${spec.label}, by ${SHORT_METRIC_LABELS[spec.metrics[0]].toLowerCase()}. Select a name to filter the dashboard by it.`,
          (value) => this.host.addFilter(spec.property, value),
          spec.explore
            ? (value) =>
                value.startsWith('/')
                  ? stateLink(
                      this.host,
                      { view: 'paths', page: value },
                      { class: 'govuk-link gh-explore', 'data-explore': value },
                      h('span', { class: 'gh-explore__verb' }, 'Explore '),
                      h('span', { class: 'gh-explore__noun' }, 'paths'),
                      hidden(` through ${value}`),
                    )
                  : null
            : null,
        ),
      );
    }
    this.moreButton.hidden = !this.more && !this.expanded;
    this.moreButton.textContent = this.expanded ? 'Show fewer' : 'Show more';
    this.moreButton.setAttribute('aria-label', `${this.expanded ? 'Show fewer' : 'Show more'} ${spec.label.toLowerCase()}`);
  }

  protected download(): void {
    const view = this.host.view();
    downloadCsv(
      `${slug(view.site)}-${slug(this.spec.label.toLowerCase())}-${view.range.first}-to-${view.range.last}.csv`,
      csvFor(this.spec, this.loadedTab === this.tab ? this.rows : []),
    );
  }

  exportRows(): Cell[][] {
    return this.loadedTab === this.tab ? longRows(this.spec.label, this.spec, this.rows) : [];
  }
}

export { METRIC_LABELS };
