// The glasshouse dashboard. The server puts the context (site, sites the user
// may see, user, CSRF token) in a JSON script element; every figure comes from
// the Stats API with the session cookie. The URL holds the view.
import { showAccount } from './account';
import { behindLink, stats } from './api';
import { Segments } from './segments';
import { SharePanel } from './share';
import { BreakdownCard, message } from './cards';
import { CountriesCard } from './countries';
import { type Cell, downloadCsv, slug } from './csv';
import { h, hidden, replace } from './dom';
import { countryName, formatDate, formatNumber } from './format';
import { AnnotationsPanel } from './annotations';
import { EventsCard } from './events';
import { FilterForm } from './filter-form';
import {
  OP_LABELS,
  PERIODS,
  VIEWS,
  type ViewName,
  type Comparison,
  type Filter,
  type Metric,
  type Period,
  type State,
  filtersToApi,
  parseState,
  periodLabel,
  propertyLabel,
  rangeOf,
  stateToSearch,
  setSiteZone,
  setSiteImports,
  importedDays,
  siteToday,
  withFilter,
} from './state';
import { Tiles } from './tiles';
import { TimeseriesCard } from './timeseries';
import { type Context, type Host, type Section, type View, maySave, stateLink } from './view';

// Start fetching the chart code at once, in parallel with the data.
const chartModule = import('./chart');

type JourneyViews = Record<Exclude<ViewName, 'overview'>, Section>;

function readContext(): Context | null {
  const el = document.getElementById('glasshouse-context');
  if (!el?.textContent) return null;
  try {
    return JSON.parse(el.textContent) as Context;
  } catch {
    return null;
  }
}

function filterText(f: Filter): string {
  const values = f.prop === 'visit:country' ? f.values.map(countryName) : f.values;
  return `${propertyLabel(f.prop)} ${OP_LABELS[f.op]} ${values.join(' or ')}`;
}

class Dashboard implements Host {
  private state: State;
  private readonly status = h('div', { class: 'govuk-visually-hidden', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'gh-status' });
  private readonly tiles: Tiles;
  private readonly timeseries: TimeseriesCard;
  private readonly cards: Section[];
  private readonly filterBar = h('div', { class: 'gh-filters', id: 'filters' });
  private readonly rangeText = h('p', { class: 'gh-range', id: 'range' });
  private readonly live = h('p', { class: 'gh-live', id: 'live', hidden: true });
  private readonly periodSelect: HTMLSelectElement;
  private readonly compareBox: HTMLInputElement;
  private readonly compareWith: HTMLSelectElement;
  private readonly customFields: HTMLElement;
  private readonly fromInput: HTMLInputElement;
  private readonly toInput: HTMLInputElement;
  private readonly customError = h('p', { class: 'govuk-error-message', id: 'custom-error', hidden: true });
  private allController: AbortController | null = null;
  private chartController: AbortController | null = null;
  private readonly compareField: HTMLElement;
  private readonly importedBox: HTMLInputElement;
  private readonly importedField: HTMLElement;
  private readonly downloadButton: HTMLButtonElement;
  private readonly viewLinks: HTMLAnchorElement[];
  /** One container per view; only the chosen one is shown. */
  private readonly viewEls: Record<ViewName, HTMLElement>;
  /** Paths and funnels: their code is fetched when first shown. */
  private journeys: Promise<JourneyViews> | null = null;
  private readonly segments: Segments;
  private readonly segmentSelect: HTMLSelectElement;
  private readonly segmentField: HTMLElement;
  private readonly segmentError = h('p', { class: 'govuk-error-message', id: 'segment-error', hidden: true });

  constructor(private readonly ctx: Context) {
    this.state = parseState(location.search);
    this.segments = new Segments(ctx);
    this.segmentSelect = h('select', { class: 'govuk-select', id: 'segment', name: 'segment', onchange: () => this.applySegment(this.segmentSelect.value) });
    this.segmentField = h('div', { class: 'gh-field', hidden: true }, h('label', { class: 'govuk-label', for: 'segment' }, 'Segment'), this.segmentSelect);
    this.tiles = new Tiles((m) => this.setMetric(m));
    const notes: AnnotationsPanel = new AnnotationsPanel(ctx, () => void notes.load().then((all) => this.timeseries.redrawNotes(all)));
    this.timeseries = new TimeseriesCard(chartModule, (i) => this.update({ interval: i }, 'chart'), notes);
    this.cards = [
      new BreakdownCard(this, 'pages', 'Pages', [
        { label: 'Top pages', property: 'event:page', column: 'Page', noun: 'page', metrics: ['visitors', 'pageviews', 'scroll_depth', 'time_on_page'], explore: true },
        { label: 'Entry pages', property: 'visit:entry_page', column: 'Entry page', noun: 'entry page', metrics: ['visitors', 'visits'], explore: true },
        { label: 'Exit pages', property: 'visit:exit_page', column: 'Exit page', noun: 'exit page', metrics: ['visitors', 'visits'], explore: true },
      ], true),
      new BreakdownCard(this, 'sources', 'Sources', [
        { label: 'Sources', property: 'visit:source', column: 'Source', noun: 'source', metrics: ['visitors'] },
        { label: 'Channels', property: 'visit:channel', column: 'Channel', noun: 'channel', metrics: ['visitors'] },
        { label: 'Referrers', property: 'visit:referrer', column: 'Referrer', noun: 'referrer', metrics: ['visitors'] },
        { label: 'UTM source', property: 'visit:utm_source', column: 'UTM source', noun: 'UTM source', metrics: ['visitors'] },
        { label: 'UTM medium', property: 'visit:utm_medium', column: 'UTM medium', noun: 'UTM medium', metrics: ['visitors'] },
        { label: 'UTM campaign', property: 'visit:utm_campaign', column: 'UTM campaign', noun: 'UTM campaign', metrics: ['visitors'] },
      ], true),
      new BreakdownCard(this, 'devices', 'Devices', [
        { label: 'Browsers', property: 'visit:browser', column: 'Browser', noun: 'browser', metrics: ['visitors'] },
        { label: 'Operating systems', property: 'visit:os', column: 'Operating system', noun: 'operating system', metrics: ['visitors'] },
        { label: 'Device types', property: 'visit:device', column: 'Device type', noun: 'device type', metrics: ['visitors'] },
      ]),
      new CountriesCard(this, ctx.geo_credit ?? null),
      new BreakdownCard(this, 'goals', 'Goals', [
        {
          label: 'Goals',
          property: 'event:goal',
          column: 'Goal',
          noun: 'goal',
          metrics: ['visitors', 'events', 'conversion_rate', 'total_revenue', 'average_revenue'],
          optional: ['total_revenue', 'average_revenue'],
        },
      ], true),
      new EventsCard(this),
    ];

    this.periodSelect = h(
      'select',
      { class: 'govuk-select', id: 'period', name: 'period', onchange: () => this.onPeriod() },
      PERIODS.map(([value, label]) => h('option', { value }, label)),
    );
    this.fromInput = h('input', { class: 'govuk-input gh-input--date', id: 'from', name: 'from', type: 'date', required: true });
    this.toInput = h('input', { class: 'govuk-input gh-input--date', id: 'to', name: 'to', type: 'date', required: true });
    this.customFields = h(
      'form',
      {
        class: 'gh-custom',
        id: 'custom-dates',
        hidden: true,
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          this.applyCustom();
        },
      },
      h(
        'fieldset',
        { class: 'govuk-fieldset', 'aria-describedby': 'custom-error' },
        h('legend', { class: 'govuk-visually-hidden' }, 'Custom dates'),
        this.customError,
        h(
          'div',
          { class: 'gh-custom__fields' },
          h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'from' }, 'From'), this.fromInput),
          h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'to' }, 'To'), this.toInput),
          h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary gh-toolbar__button' }, 'Apply dates'),
        ),
      ),
    );
    this.compareWith = h(
      'select',
      {
        class: 'govuk-select gh-select--small',
        id: 'compare-with',
        name: 'compare-with',
        onchange: () => this.update({ compare: true, compareWith: this.compareWith.value as Comparison }),
      },
      h('option', { value: 'previous_period' }, 'with the previous period'),
      h('option', { value: 'year_over_year' }, 'with the same days last year'),
    );
    this.compareBox = h('input', {
      class: 'govuk-checkboxes__input',
      id: 'compare',
      name: 'compare',
      type: 'checkbox',
      onchange: () => this.update({ compare: this.compareBox.checked }),
    });
    this.compareField = h(
      'div',
      { class: 'govuk-checkboxes govuk-checkboxes--small gh-toolbar__compare' },
      h(
        'div',
        { class: 'govuk-checkboxes__item' },
        this.compareBox,
        h('label', { class: 'govuk-label govuk-checkboxes__label', for: 'compare' }, 'Compare'),
      ),
      h('label', { class: 'govuk-visually-hidden', for: 'compare-with' }, 'Compare with'),
      this.compareWith,
    );
    this.importedBox = h('input', {
      class: 'govuk-checkboxes__input',
      id: 'imported',
      name: 'imported',
      type: 'checkbox',
      'aria-describedby': 'imported-hint',
      onchange: () => this.update({ imported: this.importedBox.checked }),
    });
    const days = importedDays();
    this.importedField = h(
      'div',
      { class: 'govuk-checkboxes govuk-checkboxes--small gh-toolbar__compare', hidden: !days },
      h(
        'div',
        { class: 'govuk-checkboxes__item' },
        this.importedBox,
        h('label', { class: 'govuk-label govuk-checkboxes__label', for: 'imported' }, 'Imported data'),
        h(
          'div',
          { class: 'govuk-hint govuk-checkboxes__hint', id: 'imported-hint' },
          days ? `Daily totals from Plausible, ${formatDate(days.from)} to ${formatDate(days.until)}` : '',
        ),
      ),
    );
    this.downloadButton = h(
      'button',
      { type: 'button', class: 'govuk-button govuk-button--secondary gh-toolbar__button', id: 'download-all', onclick: () => void this.exportAll() },
      'Download all as CSV',
    );
    this.viewLinks = VIEWS.map(([v, label]) => stateLink(this, { view: v }, { class: 'gh-viewnav__link', 'data-view': v }, label));
    const heading = (v: ViewName, text: string, visible: boolean) =>
      h('h2', { class: visible ? 'govuk-heading-l gh-view__heading' : 'govuk-visually-hidden', id: `${v}-heading`, tabindex: '-1' }, text);
    this.viewEls = {
      overview: h(
        'div',
        { class: 'gh-view', id: 'overview' },
        heading('overview', 'Overview', false),
        this.tiles.el,
        this.timeseries.el,
        h('div', { class: 'gh-cards' }, this.cards.map((c) => c.el)),
      ),
      paths: h('div', { class: 'gh-view', id: 'paths', hidden: true }, heading('paths', 'Paths', false)),
      funnels: h('div', { class: 'gh-view', id: 'funnels', hidden: true }, heading('funnels', 'Funnels', false)),
    };
  }

  get context(): Context {
    return this.ctx;
  }

  href(patch: Partial<State>): string {
    // The page's own address: a site's dashboard, or a shared link's.
    return `${location.pathname}${stateToSearch({ ...this.state, ...patch })}`;
  }

  go(patch: Partial<State>, options: { replace?: boolean; focus?: boolean } = {}): void {
    const before = this.state.view;
    this.update(patch, 'all', options.replace);
    if (this.state.view !== before) {
      this.announce(`Showing ${VIEWS.find(([v]) => v === this.state.view)![1].toLowerCase()}`);
      if (options.focus) document.getElementById(`${this.state.view}-heading`)?.focus();
    }
  }

  // --- Host ---------------------------------------------------------------

  view(): View {
    return { site: this.ctx.site, state: this.state, range: rangeOf(this.state) };
  }

  addFilter(prop: string, value: string): void {
    this.update({ filters: withFilter(this.state.filters, prop, value) });
    const f = this.state.filters[this.state.filters.length - 1];
    this.announce(`Filtered by ${filterText(f)}`);
    document.getElementById('filters-heading')?.focus();
  }

  announce(message: string): void {
    // Clear first so that the same message is read again.
    this.status.textContent = '';
    window.setTimeout(() => (this.status.textContent = message), 50);
  }

  // --- state --------------------------------------------------------------

  private update(patch: Partial<State>, scope: 'all' | 'chart' = 'all', replace = false): void {
    this.state = { ...this.state, ...patch };
    if (replace) history.replaceState(null, '', stateToSearch(this.state));
    else history.pushState(null, '', stateToSearch(this.state));
    this.sync();
    void this.load(scope);
  }

  private setMetric(metric: Metric): void {
    if (metric === this.state.metric) return;
    this.update({ metric }, 'chart');
    this.announce(`Charting ${metric.replace(/_/g, ' ')}`);
  }

  private onPeriod(): void {
    const period = this.periodSelect.value as Period;
    if (period === 'custom') {
      const r = rangeOf(this.state);
      this.fromInput.value = this.state.from || r.first;
      this.toInput.value = this.state.to || r.last;
      this.customFields.hidden = false;
      return;
    }
    this.customFields.hidden = true;
    this.update({ period, from: '', to: '', interval: '' });
    this.announce(`Showing ${periodLabel(this.state).toLowerCase()}`);
  }

  private applyCustom(): void {
    const from = this.fromInput.value;
    const to = this.toInput.value;
    let error = '';
    if (!from || !to) error = 'Enter both dates';
    else if (from > to) error = 'The ‘From’ date must be on or before the ‘To’ date';
    replace(this.customError, error ? [hidden('Error: '), error] : '');
    this.customError.hidden = !error;
    this.customFields.classList.toggle('gh-custom--error', !!error);
    this.fromInput.classList.toggle('govuk-input--error', !!error);
    this.toInput.classList.toggle('govuk-input--error', !!error);
    if (error) {
      (from ? this.toInput : this.fromInput).focus();
      return;
    }
    this.update({ period: 'custom', from, to, interval: '' });
    this.announce(`Showing ${formatDate(from)} to ${formatDate(to)}`);
  }

  /** Makes the controls show the state. */
  private sync(): void {
    const s = this.state;
    this.periodSelect.value = s.period;
    this.customFields.hidden = s.period !== 'custom';
    if (s.period === 'custom') {
      this.fromInput.value = s.from;
      this.toInput.value = s.to;
    }
    this.fromInput.max = siteToday();
    this.toInput.max = siteToday();
    this.compareBox.checked = s.compare;
    this.compareWith.value = s.compareWith;
    this.importedBox.checked = s.imported;
    // Funnels compare with the previous period only.
    this.compareWith.disabled = s.view === 'funnels';
    this.tiles.select(s.metric);
    const r = rangeOf(s);
    replace(this.rangeText, r.first === r.last ? formatDate(r.first) : `${formatDate(r.first)} to ${formatDate(r.last)}`);
    const viewLabel = VIEWS.find(([v]) => v === s.view)![1];
    document.title = `${this.ctx.site} – ${s.view === 'overview' ? '' : `${viewLabel} – `}${periodLabel(s)} – glasshouse`;
    for (const a of document.querySelectorAll<HTMLAnchorElement>('a[data-site-link]')) {
      // Another site: the same period, view and depth, not this site's page, funnel or filters.
      a.href = `/sites/${encodeURIComponent(a.dataset.siteLink!)}${stateToSearch({ ...s, filters: [], page: '', funnel: '' })}`;
    }
    for (const a of this.viewLinks) {
      const v = a.dataset.view as ViewName;
      a.href = this.href({ view: v });
      if (v === s.view) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
      a.parentElement?.classList.toggle('gh-viewnav__item--active', v === s.view);
    }
    for (const [v, el] of Object.entries(this.viewEls)) el.hidden = v !== s.view;
    // Paths have no previous period to compare with.
    this.compareField.hidden = s.view === 'paths';
    // Imported days answer the overview only (paths and funnels need visits).
    this.importedField.hidden = !importedDays() || s.view !== 'overview';
    this.downloadButton.textContent = s.view === 'overview' ? 'Download all as CSV' : `Download ${viewLabel.toLowerCase()} as CSV`;
    this.renderFilters();
  }

  private applySegment(id: string): void {
    this.update({ segment: id });
    this.announce(id ? `Showing segment ${this.segments.name(id)}` : 'Showing all visits');
  }

  /** The segment select, with the segments the viewer may apply. */
  private syncSegments(): void {
    const all = this.segments.all;
    this.segmentField.hidden = behindLink || (!all.length && !this.state.segment);
    replace(
      this.segmentSelect,
      h('option', { value: '' }, 'All visits'),
      all.map((seg) => h('option', { value: seg.id }, seg.shared ? `${seg.name} (shared)` : seg.name)),
    );
    this.segmentSelect.value = this.state.segment;
  }

  /** A form that saves the filters shown as a segment. */
  private saveSegmentForm(): HTMLElement | null {
    if (behindLink || !this.state.filters.length) return null;
    const name = h('input', { class: 'govuk-input gh-input--small', id: 'segment-name', name: 'name', type: 'text', maxlength: 100, required: true, autocomplete: 'off' });
    const shared = h('input', { class: 'govuk-checkboxes__input', id: 'segment-shared', name: 'shared', type: 'checkbox' });
    const save = async (e: Event): Promise<void> => {
      e.preventDefault();
      this.segmentError.hidden = true;
      try {
        const made = await this.segments.save(name.value.trim(), this.state.filters, shared.checked);
        this.update({ segment: made.id, filters: [] });
        this.announce(`Saved and applied segment ${made.name}`);
      } catch (err) {
        replace(this.segmentError, (err as Error).message);
        this.segmentError.hidden = false;
      }
    };
    return h(
      'details',
      { class: 'govuk-details gh-segment-save' },
      h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Save these filters as a segment')),
      h(
        'form',
        { class: 'govuk-details__text gh-custom__fields', id: 'segment-form', 'aria-describedby': 'segment-error', onsubmit: (e: Event) => void save(e) },
        this.segmentError,
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'segment-name' }, 'Name'), name),
        maySave(this.ctx)
          ? h('div', { class: 'govuk-checkboxes govuk-checkboxes--small' }, h('div', { class: 'govuk-checkboxes__item' }, shared, h('label', { class: 'govuk-label govuk-checkboxes__label', for: 'segment-shared' }, 'Share with my organisation')))
          : null,
        h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary gh-toolbar__button' }, 'Save segment'),
      ),
    );
  }

  private renderFilters(): void {
    const fs = this.state.filters;
    this.syncSegments();
    this.filterBar.hidden = fs.length === 0 && !this.state.segment;
    if (this.filterBar.hidden) {
      replace(this.filterBar);
      return;
    }
    const segmentChip = this.state.segment
      ? h(
          'li',
          null,
          h(
            'button',
            { type: 'button', class: 'gh-chip', id: 'segment-chip', onclick: () => this.applySegment('') },
            h('span', { class: 'gh-chip__text' }, 'Segment ', h('strong', null, this.segments.name(this.state.segment))),
            h('span', { class: 'gh-chip__remove', 'aria-hidden': 'true' }, '×'),
            hidden(' – remove this segment'),
          ),
        )
      : null;
    replace(
      this.filterBar,
      h('h2', { class: 'gh-filters__heading', id: 'filters-heading', tabindex: '-1' }, 'Filtered by'),
      h(
        'ul',
        { class: 'gh-filters__list' },
        segmentChip,
        fs.map((f, i) =>
          h(
            'li',
            null,
            h(
              'button',
              {
                type: 'button',
                class: 'gh-chip',
                'data-filter': filtersToApi([f]),
                onclick: () => this.removeFilter(i),
              },
              h('span', { class: 'gh-chip__text' }, `${propertyLabel(f.prop)} ${OP_LABELS[f.op]} `, h('strong', null, f.prop === 'visit:country' ? f.values.map(countryName).join(' or ') : f.values.join(' or '))),
              h('span', { class: 'gh-chip__remove', 'aria-hidden': 'true' }, '×'),
              hidden(' – remove this filter'),
            ),
          ),
        ),
        fs.length > 1
          ? h('li', null, h('button', { type: 'button', class: 'gh-link-button', onclick: () => this.clearFilters() }, 'Clear all filters'))
          : null,
      ),
      this.saveSegmentForm(),
    );
  }

  private removeFilter(i: number): void {
    const f = this.state.filters[i];
    this.update({ filters: this.state.filters.filter((_, j) => j !== i) });
    this.announce(`Removed filter ${filterText(f)}`);
    const chips = this.filterBar.querySelectorAll<HTMLButtonElement>('.gh-chip');
    (chips[Math.min(i, chips.length - 1)] ?? this.periodSelect).focus();
  }

  private clearFilters(): void {
    this.update({ filters: [] });
    this.announce('Removed all filters');
    this.periodSelect.focus();
  }

  // --- loading ------------------------------------------------------------

  async load(scope: 'all' | 'chart' = 'all'): Promise<void> {
    this.chartController?.abort();
    const chart = (this.chartController = new AbortController());
    const view = this.view();
    if (view.state.view !== 'overview') {
      this.allController?.abort();
      const all = (this.allController = new AbortController());
      const name = view.state.view;
      const el = this.viewEls[name];
      let views: JourneyViews;
      try {
        views = await this.journeyViews();
      } catch {
        if (!all.signal.aborted) replace(el, el.firstElementChild, message('The page could not load this view. Reload the page to try again.', 'error'));
        return;
      }
      if (all.signal.aborted) return;
      if (views[name].el.parentElement !== el) el.appendChild(views[name].el);
      await views[name].load(view, all.signal);
      return;
    }
    if (scope === 'chart') {
      await this.timeseries.load(view, chart.signal);
      return;
    }
    this.allController?.abort();
    const all = (this.allController = new AbortController());
    await Promise.all([
      this.timeseries.load(view, chart.signal),
      ...[this.tiles, ...this.cards].map((s) => s.load(view, all.signal)),
    ]);
  }

  private async pollLive(): Promise<void> {
    if (document.hidden) return;
    try {
      const n = await stats<number>('realtime/visitors', { site_id: this.ctx.site });
      this.live.hidden = false;
      this.live.dataset.value = String(n);
      replace(
        this.live,
        h('span', { class: 'gh-live__dot', 'aria-hidden': 'true' }),
        h('strong', { class: 'gh-live__count' }, formatNumber(n)),
        ` current visitor${n === 1 ? '' : 's'}`,
        hidden(' (in the last 5 minutes)'),
      );
    } catch {
      this.live.hidden = true;
    }
  }

  private journeyViews(): Promise<JourneyViews> {
    this.journeys ??= import('./journeys').then((m) => m.createViews(this));
    this.journeys.catch(() => (this.journeys = null));
    return this.journeys;
  }

  private async exportAll(): Promise<void> {
    const view = this.view();
    const name = view.state.view;
    if (name !== 'overview') {
      const views = await this.journeyViews();
      const rows = views[name].exportRows();
      downloadCsv(`${slug(view.site)}-${name}-${view.range.first}-to-${view.range.last}.csv`, [
        ['section', 'item', 'metric', 'value'],
        ['View', 'site', '', view.site],
        ['View', 'from', '', view.range.first],
        ['View', 'to', '', view.range.last],
        ...view.state.filters.map((f): Cell[] => ['View', 'filter', '', filterText(f)]),
        ...rows,
      ]);
      return;
    }
    const rows: Cell[][] = [
      ['section', 'item', 'metric', 'value'],
      ['View', 'site', '', view.site],
      ['View', 'from', '', view.range.first],
      ['View', 'to', '', view.range.last],
      ...view.state.filters.map((f): Cell[] => ['View', 'filter', '', filterText(f)]),
      ...[this.tiles, this.timeseries, ...this.cards].flatMap((s) => s.exportRows()),
    ];
    downloadCsv(`${slug(view.site)}-dashboard-${view.range.first}-to-${view.range.last}.csv`, rows);
  }

  // --- page ---------------------------------------------------------------

  mount(app: HTMLElement): void {
    const ctx = this.ctx;
    if (ctx.link?.embed) document.body.classList.add('gh-embed');
    showAccount(ctx.user, ctx.csrf);
    const here = ctx.sites.find((s) => s.host === ctx.site);
    const others = ctx.sites.filter((s) => s.host !== ctx.site);
    const byOrg = new Map<string, string[]>();
    for (const s of ctx.sites) byOrg.set(s.organisation, [...(byOrg.get(s.organisation) ?? []), s.host]);
    const picker = others.length
      ? h(
          'details',
          { class: 'gh-sitepicker' },
          h('summary', { class: 'gh-sitepicker__summary' }, 'Change site'),
          h(
            'nav',
            { class: 'gh-sitepicker__menu', 'aria-label': 'Sites' },
            [...byOrg].flatMap(([org, hosts]) => [
              h('h2', { class: 'gh-sitepicker__org' }, org),
              h(
                'ul',
                { class: 'gh-sitepicker__list' },
                hosts.map((host) =>
                  h(
                    'li',
                    null,
                    h(
                      'a',
                      { class: 'govuk-link', 'data-site-link': host, href: `/sites/${encodeURIComponent(host)}`, 'aria-current': host === ctx.site ? 'page' : null },
                      host,
                    ),
                  ),
                ),
              ),
            ]),
          ),
        )
      : null;

    if (picker) {
      // Close the menu with Escape or a click elsewhere, like a menu.
      picker.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && picker.open) {
          picker.open = false;
          picker.querySelector('summary')?.focus();
        }
      });
      document.addEventListener('click', (e) => {
        if (picker.open && !picker.contains(e.target as Node)) picker.open = false;
      });
    }

    replace(
      app,
      this.status,
      h(
        'div',
        { class: 'gh-titlebar' },
        h(
          'div',
          { class: 'gh-titlebar__site' },
          h('span', { class: 'govuk-caption-m' }, here?.organisation ?? ctx.user?.organisation ?? ctx.link?.organisation ?? ''),
          h('h1', { class: 'govuk-heading-l gh-title' }, ctx.site),
          picker,
          ctx.user ? h('a', { class: 'govuk-link gh-allsites', href: '/overview', id: 'all-sites' }, 'All sites') : null,
        ),
        this.live,
      ),
      maySave(ctx) ? new SharePanel(ctx, this.segments).el : null,
      ctx.link ? sharedBanner(ctx.link) : null,
      h(
        'nav',
        { class: 'gh-viewnav', 'aria-label': 'Dashboard views' },
        h('ul', { class: 'gh-viewnav__list' }, this.viewLinks.map((a) => h('li', { class: 'gh-viewnav__item' }, a))),
      ),
      h(
        'div',
        { class: 'gh-toolbar', role: 'group', 'aria-label': 'What to show' },
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'period' }, 'Period'), this.periodSelect),
        this.segmentField,
        this.customFields,
        this.compareField,
        this.importedField,
        h('div', { class: 'gh-toolbar__end' }, this.rangeText, this.downloadButton),
      ),
      new FilterForm(this).el,
      this.filterBar,
      Object.values(this.viewEls),
    );
    app.removeAttribute('aria-busy');

    // The URL always says what is shown.
    history.replaceState(null, '', stateToSearch(this.state));
    this.sync();
    void this.load();
    void this.segments.load().then(
      () => this.renderFilters(),
      () => undefined,
    );
    window.addEventListener('popstate', () => {
      this.state = parseState(location.search);
      this.sync();
      void this.load();
    });
    void this.pollLive();
    window.setInterval(() => void this.pollLive(), 15_000);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) void this.pollLive();
    });
  }
}

/** What a shared link's page says about the view: read-only, whose, and until when. */
function sharedBanner(link: NonNullable<Context['link']>): HTMLElement {
  return h(
    'div',
    { class: 'govuk-inset-text gh-shared', id: 'shared-banner' },
    h('strong', null, 'A read-only view shared by ', link.organisation, '. '),
    link.segment ? `It shows the segment “${link.segment}” only. ` : '',
    link.expires ? `The link works until ${formatDate(link.expires.slice(0, 10))}. ` : '',
    h('a', { class: 'govuk-link', href: '/transparency#links' }, 'How shared figures are protected'),
  );
}

const app = document.getElementById('app');
const ctx = readContext();
if (app && ctx) {
  setSiteZone(ctx.timezone ?? 'UTC');
  setSiteImports(ctx.imported ?? null);
  new Dashboard(ctx).mount(app);
} else if (app) {
  app.removeAttribute('aria-busy');
  replace(
    app,
    h('h1', { class: 'govuk-heading-l' }, 'Sorry, the dashboard could not start'),
    h('p', { class: 'govuk-body' }, 'The page arrived without its settings. ', h('a', { class: 'govuk-link', href: '/' }, 'Try again'), '.'),
  );
}
