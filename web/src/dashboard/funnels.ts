// Funnels: the site's saved funnels, a form to create or change one (a name
// and 2 to 8 steps, each a page pattern, perhaps on another site, or a custom
// event), and for the chosen funnel how many visits reached each step, as a
// bar chart and a table, with the previous period alongside when comparing.
import { ApiError, type RowsResult, send, stats, get } from './api';
import { cardFrame, message } from './cards';
import { type Cell, downloadCsv, slug } from './csv';
import { type Child, h, hidden, replace } from './dom';
import { formatDate, formatDurationLong, formatNumber, formatPercent } from './format';
import type { KnownHosts } from './journeys';
import { type DateRange, filtersToApi, periodParams, previousRange } from './state';
import { type Host, type Section, type View, maySave, stateLink } from './view';

type JourneyChart = typeof import('./journey-chart');

export type FunnelStep = { page: string; site?: string } | { event: string };

export interface Funnel {
  id: string | number;
  name: string;
  steps: FunnelStep[];
  updated?: string;
}

/**
 * One step's figures. Conversion and drop-off count visits. A step on another
 * organisation's site reached by fewer visitors than its agreement allows to
 * be shown is `suppressed`, with no figures.
 */
export interface StepResult {
  step: number;
  label?: string;
  visits: number | null;
  visitors: number | null;
  conversion_rate: number | null;
  dropoff: number | null;
  median_seconds: number | null;
  suppressed?: boolean;
}

export interface FunnelResult {
  results: StepResult[];
  comparison?: { results: StepResult[] };
}

export const MIN_STEPS = 2;
export const MAX_STEPS = 8;
const MAX_NAME = 120;

/** How a step is written: /apply, gov.wales /apply, Event: Form submitted. */
export function stepLabel(step: FunnelStep, site: string): string {
  if ('event' in step) return `Event: ${step.event}`;
  return step.site && step.site !== site ? `${step.site} ${step.page}` : step.page;
}

function rangeName(r: DateRange): string {
  return r.first === r.last ? formatDate(r.first) : `${formatDate(r.first)} to ${formatDate(r.last)}`;
}

interface DraftStep {
  kind: 'page' | 'event';
  page: string;
  site: string;
  event: string;
}

interface Draft {
  /** The funnel changed, or null for a new one. */
  id: string | null;
  name: string;
  steps: DraftStep[];
}

interface FieldError {
  /** The id of the field to fix. */
  field: string;
  text: string;
}

function emptyStep(): DraftStep {
  return { kind: 'page', page: '', site: '', event: '' };
}

type Mode = { kind: 'show' } | { kind: 'edit'; draft: Draft; errors: FieldError[] } | { kind: 'confirm-delete' };

export class FunnelsView implements Section {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly main: HTMLElement;
  private funnels: Funnel[] | null = null;
  private listError = '';
  private mode: Mode = { kind: 'show' };
  private notice = '';
  private result: FunnelResult | null = null;
  private resultFor: { funnel: Funnel; view: View } | null = null;
  private lastView: View | null = null;
  private controller: AbortController | null = null;
  private chartModule: Promise<JourneyChart> | null = null;
  private readonly pagesList = h('datalist', { id: 'funnel-pages' });
  private readonly eventsList = h('datalist', { id: 'funnel-events' });
  private readonly hostsList = h('datalist', { id: 'funnel-hosts' });
  private suggestionsKey = '';
  private saving = false;

  constructor(
    private readonly host: Host,
    private readonly hosts: KnownHosts,
  ) {
    this.list = h('div', { class: 'gh-funnels__list' });
    this.main = h('div', { class: 'gh-funnels__main' });
    this.el = h('div', { class: 'gh-funnels' }, this.list, this.main, this.pagesList, this.eventsList, this.hostsList);
  }

  private get site(): string {
    return this.host.context.site;
  }

  private charts(): Promise<JourneyChart> {
    this.chartModule ??= import('./journey-chart');
    this.chartModule.catch(() => (this.chartModule = null));
    return this.chartModule;
  }

  // --- loading ----------------------------------------------------------------

  async load(view: View, signal: AbortSignal): Promise<void> {
    this.lastView = view;
    void this.charts();
    this.el.setAttribute('aria-busy', 'true');
    try {
      if (!this.funnels) {
        try {
          const r = await get<{ funnels: Funnel[] }>('funnels', { site_id: view.site }, signal);
          this.funnels = r.funnels;
          this.listError = '';
        } catch (e) {
          if (signal.aborted || (e as Error).name === 'AbortError') return;
          this.funnels = null;
          this.listError = (e as Error).message;
        }
      }
      if (signal.aborted) return;
      for (const f of this.funnels ?? []) for (const s of f.steps) if ('page' in s && s.site) this.hosts.add(s.site);
      this.renderList(view);
      if (this.mode.kind === 'edit') {
        // Changing the period leaves the form as it is.
        return;
      }
      await this.showChosen(view, signal);
    } finally {
      if (!signal.aborted) this.el.removeAttribute('aria-busy');
    }
  }

  private chosen(view: View): Funnel | null {
    const all = this.funnels ?? [];
    if (!view.state.funnel) return all[0] ?? null;
    return all.find((f) => String(f.id) === view.state.funnel) ?? null;
  }

  private async showChosen(view: View, signal: AbortSignal): Promise<void> {
    if (this.listError) {
      replace(this.main, this.noticeBanner(), message(`Could not load the funnels: ${this.listError}`, 'error'));
      return;
    }
    const funnel = this.chosen(view);
    if (!funnel) {
      if (view.state.funnel && this.funnels?.length) {
        replace(
          this.main,
          this.noticeBanner(),
          h(
            'div',
            { class: 'gh-card' },
            h('h2', { class: 'gh-card__title' }, 'Funnel not found'),
            h('p', { class: 'govuk-body gh-card__message' }, 'This funnel may have been deleted. Choose another from the list.'),
          ),
        );
        return;
      }
      this.mode = { kind: 'show' };
      this.renderEmpty();
      return;
    }
    await this.compute(funnel, view, signal);
  }

  private async compute(funnel: Funnel, view: View, signal: AbortSignal): Promise<void> {
    const card = this.resultsFrame(funnel);
    replace(this.main, this.noticeBanner(), card.el);
    card.el.setAttribute('aria-busy', 'true');
    card.el.classList.add('gh-card--loading');
    replace(card.body, message('Loading…'));
    try {
      const body: Record<string, unknown> = { site_id: view.site, ...periodParams(view.state), steps: funnel.steps };
      const filters = filtersToApi(view.state.filters);
      if (filters) body.filters = filters;
      if (view.state.segment) body.segment = view.state.segment;
      if (view.state.compare && view.state.compareWith === 'previous_period') body.compare = 'previous_period';
      const [result, mod] = await Promise.all([send<FunnelResult>('POST', 'stats/funnel', body, this.host.context.csrf, signal), this.charts()]);
      if (signal.aborted) return;
      this.result = result;
      this.resultFor = { funnel, view };
      this.renderResults(card.body, funnel, view, result, mod);
    } catch (e) {
      if (signal.aborted || (e as Error).name === 'AbortError') return;
      this.result = null;
      this.resultFor = null;
      replace(card.body, message(`Could not work out the funnel: ${(e as Error).message}`, 'error'));
    } finally {
      if (!signal.aborted) {
        card.el.removeAttribute('aria-busy');
        card.el.classList.remove('gh-card--loading');
      }
    }
  }

  /** Loads again, for the same view, after a change made here. */
  private refresh(): void {
    const view = this.host.view();
    this.controller?.abort();
    this.controller = new AbortController();
    void this.load(view, this.controller.signal);
  }

  // --- the list ------------------------------------------------------------------

  private renderList(view: View): void {
    const all = this.funnels ?? [];
    const chosen = this.mode.kind === 'edit' ? null : this.chosen(view);
    const editing = this.mode.kind === 'edit' ? this.mode.draft.id : null;
    replace(
      this.list,
      h(
        'section',
        { class: 'gh-card gh-funnels__saved', 'aria-labelledby': 'funnel-list-heading' },
        h('div', { class: 'gh-card__header' }, h('h2', { class: 'gh-card__title', id: 'funnel-list-heading' }, 'Saved funnels')),
        all.length
          ? h(
              'ul',
              { class: 'gh-funnel-list', id: 'funnel-list' },
              all.map((f) => {
                const current = (chosen && String(chosen.id) === String(f.id)) || editing === String(f.id);
                return h(
                  'li',
                  { class: `gh-funnel-list__item${current ? ' gh-funnel-list__item--current' : ''}` },
                  stateLink(
                    this.host,
                    { funnel: String(f.id) },
                    { class: 'govuk-link gh-funnel-list__link', 'data-funnel': String(f.id), 'aria-current': current ? 'true' : null },
                    f.name,
                  ),
                  h('span', { class: 'gh-funnel-list__meta' }, `${f.steps.length} steps`),
                );
              }),
            )
          : h('p', { class: 'govuk-body gh-funnels__none' }, this.listError ? 'The funnels could not be loaded.' : 'No funnels saved yet.'),
        !maySave(this.host.context) ? null : h(
          'button',
          {
            type: 'button',
            class: 'govuk-button govuk-button--secondary gh-funnels__create',
            id: 'funnel-create',
            'data-module': 'govuk-button',
            onclick: () => this.startEdit(null),
          },
          'Create a funnel',
        ),
      ),
    );
  }

  private renderEmpty(): void {
    replace(
      this.main,
      this.noticeBanner(),
      h(
        'section',
        { class: 'gh-card gh-funnels__intro', 'aria-labelledby': 'funnel-intro-heading' },
        h('h2', { class: 'gh-card__title', id: 'funnel-intro-heading' }, 'See how many visits get through a journey'),
        h(
          'p',
          { class: 'govuk-body' },
          'A funnel is 2 to 8 steps in order: pages, perhaps on a partner site, or custom events such as a form being sent. For each step you see how many visits got that far, how many left, and how long the step took.',
        ),
        maySave(this.host.context)
          ? h('button', { type: 'button', class: 'govuk-button', onclick: () => this.startEdit(null) }, 'Create a funnel')
          : h('p', { class: 'govuk-body' }, 'No funnels have been saved for this site.'),
      ),
    );
  }

  private noticeBanner(): HTMLElement | null {
    if (!this.notice) return null;
    const text = this.notice;
    this.notice = '';
    return h(
      'div',
      { class: 'govuk-notification-banner govuk-notification-banner--success', role: 'alert', 'aria-labelledby': 'funnel-notice-title', id: 'funnel-notice' },
      h('div', { class: 'govuk-notification-banner__header' }, h('h2', { class: 'govuk-notification-banner__title', id: 'funnel-notice-title' }, 'Success')),
      h('div', { class: 'govuk-notification-banner__content' }, h('p', { class: 'govuk-notification-banner__heading' }, text)),
    );
  }

  // --- results -------------------------------------------------------------------

  private resultsFrame(funnel: Funnel): { el: HTMLElement; body: HTMLElement } {
    const frame = cardFrame('funnel-results', funnel.name, () => this.download());
    frame.el.classList.add('gh-card--funnel');
    if (maySave(this.host.context)) frame.header.appendChild(
      h(
        'div',
        { class: 'gh-funnel__actions' },
        h('button', { type: 'button', class: 'govuk-button govuk-button--secondary gh-button--small', id: 'funnel-edit', onclick: () => this.startEdit(funnel) }, 'Edit', hidden(` ${funnel.name}`)),
        h(
          'button',
          { type: 'button', class: 'govuk-button govuk-button--warning gh-button--small', id: 'funnel-delete', onclick: () => this.confirmDelete(funnel) },
          'Delete',
          hidden(` ${funnel.name}`),
        ),
      ),
    );
    frame.header.after(
      h(
        'ol',
        { class: 'gh-funnel__steps', 'aria-label': 'Steps' },
        funnel.steps.map((s) => h('li', { class: 'gh-funnel__step' }, stepLabel(s, this.site))),
      ),
    );
    return { el: frame.el, body: frame.body };
  }

  private renderResults(body: HTMLElement, funnel: Funnel, view: View, r: FunnelResult, mod: JourneyChart): void {
    const current = r.results;
    const previous = view.state.compare && view.state.compareWith === 'previous_period' ? (r.comparison?.results ?? null) : null;
    const labels = funnel.steps.map((s, i) => `${i + 1}. ${stepLabel(s, this.site)}`);
    const range = view.range;
    const prev = previousRange(range);
    const chart = h('div', { class: 'gh-chart gh-funnel-chart', role: 'img', 'aria-label': describe(funnel, current, this.site) });
    chart.style.height = `${Math.max(200, labels.length * (previous ? 64 : 44) + 48)}px`;
    const legend = previous
      ? h(
          'p',
          { class: 'gh-legend' },
          h('span', { class: 'gh-legend__item' }, h('span', { class: 'gh-legend__bar', 'aria-hidden': 'true' }), rangeName(range)),
          h('span', { class: 'gh-legend__item' }, h('span', { class: 'gh-legend__bar gh-legend__bar--previous', 'aria-hidden': 'true' }), `Previous period: ${rangeName(prev)}`),
        )
      : null;
    const nothing = !current.length || !current[0].visits;
    replace(
      body,
      nothing ? message('No visits reached the first step in this period.') : null,
      legend,
      chart,
      h('div', { class: 'gh-table-scroll', role: 'region', 'aria-label': 'Funnel figures', tabindex: '0' }, this.table(funnel, view, current, previous)),
    );
    // The table scrolls sideways only on a narrow screen; only then is it a tab stop.
    const scroller = body.querySelector<HTMLElement>('.gh-table-scroll');
    if (scroller && scroller.scrollWidth <= scroller.clientWidth) scroller.removeAttribute('tabindex');
    if (!current.length) return;
    mod.drawFunnel(chart, {
      labels,
      current: current.map((s) => s.visits),
      conversion: current.map((s) => s.conversion_rate),
      previous: previous ? previous.map((s) => s.visits) : null,
      previousConversion: previous ? previous.map((s) => s.conversion_rate) : null,
      currentName: rangeName(range),
      previousName: `Previous period: ${rangeName(prev)}`,
    });
  }

  private table(funnel: Funnel, view: View, current: StepResult[], previous: StepResult[] | null): HTMLTableElement {
    const th = (text: Child, numeric = false) =>
      h('th', { scope: 'col', class: `govuk-table__header${numeric ? ' govuk-table__header--numeric' : ''}` }, text);
    const num = (metric: string, value: number | null, text: string) =>
      h('td', { class: 'govuk-table__cell govuk-table__cell--numeric', 'data-metric': metric, 'data-value': value == null ? '' : String(value) }, text);
    const cells = (s: StepResult | undefined, before: StepResult | undefined) => {
      if (!s) return [h('td', { class: 'govuk-table__cell', colspan: '5' }, 'No figures')];
      if (s.suppressed) {
        return [
          h(
            'td',
            { class: 'govuk-table__cell gh-funnel-table__withheld', colspan: '5', 'data-suppressed': 'true' },
            'Withheld: fewer visitors than the sharing agreement’s minimum (journeys here may cross to another organisation’s site)',
          ),
        ];
      }
      const first = s.step === 1;
      const lost = s.dropoff;
      const share = !first && lost != null && before?.visits ? ` (${formatPercent(Math.round((lost / before.visits) * 1000) / 10)})` : '';
      const count = (metric: string, v: number | null) => num(metric, v, v == null ? '–' : formatNumber(v));
      return [
        count('visits', s.visits),
        count('visitors', s.visitors),
        num('conversion_rate', s.conversion_rate, s.conversion_rate == null ? '–' : formatPercent(s.conversion_rate)),
        num('dropoff', s.dropoff, first || lost == null ? '–' : `${formatNumber(lost)}${share}`),
        num('median_seconds', s.median_seconds, s.median_seconds == null ? '–' : formatDurationLong(s.median_seconds)),
      ];
    };
    const prevName = `Previous period: ${rangeName(previousRange(view.range))}`;
    return h(
      'table',
      { class: 'govuk-table gh-table--compact gh-funnel-table', id: 'funnel-table' },
      h(
        'caption',
        { class: 'govuk-table__caption govuk-table__caption--s' },
        `Steps of ‘${funnel.name}’, ${rangeName(view.range)}`,
        previous ? `, compared with the previous period` : '',
      ),
      h(
        'thead',
        { class: 'govuk-table__head' },
        h(
          'tr',
          { class: 'govuk-table__row' },
          th('Step'),
          previous ? th('Period') : null,
          th('Visits', true),
          th('Visitors', true),
          th('Conversion from step 1', true),
          th('Visits lost since the step before', true),
          th('Median time from the step before', true),
        ),
      ),
      funnel.steps.map((step, i) => {
        const s = current[i];
        const p = previous?.[i];
        const name = h('span', { class: 'gh-funnel-table__step' }, h('span', { class: 'gh-funnel-table__number' }, `${i + 1}.`), ' ', stepLabel(step, this.site));
        return h(
          'tbody',
          { class: 'govuk-table__body' },
          h(
            'tr',
            { class: 'govuk-table__row', 'data-step': String(i + 1), 'data-period': 'current' },
            h('th', { scope: previous ? 'rowgroup' : 'row', class: 'govuk-table__header gh-funnel-table__name', rowspan: previous ? '2' : null }, name),
            previous ? h('td', { class: 'govuk-table__cell gh-funnel-table__period' }, 'This period') : null,
            cells(s, current[i - 1]),
          ),
          previous
            ? h(
                'tr',
                { class: 'govuk-table__row gh-funnel-table__previous', 'data-step': String(i + 1), 'data-period': 'previous' },
                h('td', { class: 'govuk-table__cell gh-funnel-table__period' }, h('span', { title: prevName }, 'Previous period')),
                cells(p, previous?.[i - 1]),
              )
            : null,
        );
      }),
    );
  }

  // --- delete ---------------------------------------------------------------------

  private confirmDelete(funnel: Funnel): void {
    const card = this.main.querySelector<HTMLElement>('#funnel-results');
    if (!card || card.querySelector('.gh-confirm')) return;
    const error = h('p', { class: 'govuk-error-message', hidden: true });
    const yes = h('button', { type: 'button', class: 'govuk-button govuk-button--warning gh-button--small', id: 'funnel-delete-confirm' }, 'Yes, delete this funnel');
    const panel = h(
      'div',
      { class: 'gh-confirm', role: 'group', 'aria-labelledby': 'confirm-heading', tabindex: '-1' },
      h('h3', { class: 'govuk-heading-s gh-confirm__heading', id: 'confirm-heading' }, `Delete ‘${funnel.name}’?`),
      h('p', { class: 'govuk-body-s' }, 'The funnel goes for everyone in your organisation. The visits it counted are not affected.'),
      error,
      h(
        'div',
        { class: 'govuk-button-group' },
        yes,
        h(
          'button',
          {
            type: 'button',
            class: 'gh-link-button',
            onclick: () => {
              panel.remove();
              card.querySelector<HTMLElement>('#funnel-delete')?.focus();
            },
          },
          'Cancel',
        ),
      ),
    );
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await send<void>('DELETE', `funnels/${encodeURIComponent(String(funnel.id))}?${new URLSearchParams({ site_id: this.site })}`, undefined, this.host.context.csrf);
        this.funnels = (this.funnels ?? []).filter((f) => String(f.id) !== String(funnel.id));
        this.notice = `Funnel ‘${funnel.name}’ deleted`;
        this.mode = { kind: 'show' };
        this.host.go({ funnel: '' });
        this.host.announce(this.notice);
        document.getElementById('funnels-heading')?.focus();
      } catch (e) {
        yes.disabled = false;
        replace(error, hidden('Error: '), (e as Error).message);
        error.hidden = false;
      }
    });
    card.querySelector('.gh-card__header')!.after(panel);
    panel.focus();
  }

  // --- the form -------------------------------------------------------------------

  private startEdit(funnel: Funnel | null): void {
    const draft: Draft = funnel
      ? {
          id: String(funnel.id),
          name: funnel.name,
          steps: funnel.steps.map((s) =>
            'event' in s ? { ...emptyStep(), kind: 'event', event: s.event } : { ...emptyStep(), page: s.page, site: s.site && s.site !== this.site ? s.site : '' },
          ),
        }
      : { id: null, name: '', steps: [emptyStep(), emptyStep()] };
    this.mode = { kind: 'edit', draft, errors: [] };
    this.renderForm();
    if (this.lastView) this.renderList(this.lastView);
    void this.loadSuggestions();
    document.getElementById('funnel-form-heading')?.focus();
  }

  private async loadSuggestions(): Promise<void> {
    replace(
      this.hostsList,
      this.hosts.others().map((host) => h('option', { value: host })),
    );
    const view = this.host.view();
    const base: Record<string, string> = { site_id: view.site, ...periodParams(view.state) };
    const key = JSON.stringify(base);
    if (key === this.suggestionsKey) return;
    try {
      const [pages, events] = await Promise.all([
        stats<RowsResult>('breakdown', { ...base, property: 'event:page', limit: '50' }),
        stats<RowsResult>('breakdown', { ...base, property: 'event:name', filters: 'event:name!=pageview', limit: '50' }),
      ]);
      replace(
        this.pagesList,
        pages.results.map((r) => h('option', { value: String(r.page ?? '') })),
      );
      replace(
        this.eventsList,
        events.results.map((r) => h('option', { value: String(r.name ?? '') })),
      );
      this.suggestionsKey = key;
    } catch {
      // Suggestions only; typing still works.
    }
  }

  /** Reads what is typed into the draft. */
  private readForm(): Draft | null {
    if (this.mode.kind !== 'edit') return null;
    const d = this.mode.draft;
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement | null)?.value ?? '';
    d.name = value('funnel-name');
    d.steps.forEach((s, i) => {
      const n = i + 1;
      s.kind = (document.getElementById(`step-${n}-kind-event`) as HTMLInputElement | null)?.checked ? 'event' : 'page';
      s.page = value(`step-${n}-page`);
      s.site = value(`step-${n}-site`);
      s.event = value(`step-${n}-event`);
    });
    return d;
  }

  private validate(d: Draft): FieldError[] {
    const errors: FieldError[] = [];
    const name = d.name.trim();
    if (!name) errors.push({ field: 'funnel-name', text: 'Enter a name for the funnel' });
    else if (name.length > MAX_NAME) errors.push({ field: 'funnel-name', text: `The name must be ${MAX_NAME} characters or fewer` });
    d.steps.forEach((s, i) => {
      const n = i + 1;
      if (s.kind === 'page') {
        const page = s.page.trim();
        if (!page) errors.push({ field: `step-${n}-page`, text: `Enter the page of step ${n}, such as /apply` });
        else if (!page.startsWith('/')) errors.push({ field: `step-${n}-page`, text: `The page of step ${n} must start with /` });
        const site = s.site.trim();
        if (site && !/^[a-z0-9.-]+(:\d+)?$/i.test(site)) errors.push({ field: `step-${n}-site`, text: `Enter the site of step ${n} as a host name, such as gov.wales` });
      } else if (!s.event.trim()) {
        errors.push({ field: `step-${n}-event`, text: `Enter the event name of step ${n}, such as Form submitted` });
      }
    });
    return errors;
  }

  private stepsOf(d: Draft): FunnelStep[] {
    return d.steps.map((s): FunnelStep => {
      if (s.kind === 'event') return { event: s.event.trim() };
      const site = s.site.trim().toLowerCase();
      return site && site !== this.site ? { page: s.page.trim(), site } : { page: s.page.trim() };
    });
  }

  private async save(): Promise<void> {
    const d = this.readForm();
    if (!d || this.mode.kind !== 'edit' || this.saving) return;
    const errors = this.validate(d);
    this.mode.errors = errors;
    if (errors.length) {
      this.renderForm();
      document.getElementById('funnel-errors')?.focus();
      return;
    }
    this.saving = true;
    const button = document.getElementById('funnel-save') as HTMLButtonElement | null;
    if (button) button.disabled = true;
    try {
      const body = { site_id: this.site, name: d.name.trim(), steps: this.stepsOf(d) };
      const r = d.id
        ? await send<{ funnel: Funnel }>('PUT', `funnels/${encodeURIComponent(d.id)}`, body, this.host.context.csrf)
        : await send<{ funnel: Funnel }>('POST', 'funnels', body, this.host.context.csrf);
      const saved = r.funnel;
      const all = this.funnels ?? [];
      const i = all.findIndex((f) => String(f.id) === String(saved.id));
      this.funnels = i >= 0 ? all.map((f, j) => (j === i ? saved : f)) : [...all, saved];
      this.mode = { kind: 'show' };
      this.notice = `Funnel ‘${saved.name}’ saved`;
      this.host.announce(this.notice);
      if (this.host.view().state.funnel === String(saved.id)) this.refresh();
      else this.host.go({ funnel: String(saved.id) });
      document.getElementById('funnels-heading')?.focus();
    } catch (e) {
      if (this.mode.kind !== 'edit') return;
      const text = e instanceof ApiError ? e.message : 'The funnel could not be saved. Try again.';
      this.mode.errors = [{ field: fieldFor(text, d), text }];
      this.renderForm();
      document.getElementById('funnel-errors')?.focus();
    } finally {
      this.saving = false;
      if (button?.isConnected) button.disabled = false;
    }
  }

  private cancel(): void {
    this.mode = { kind: 'show' };
    this.refresh();
    document.getElementById('funnels-heading')?.focus();
  }

  private addStep(): void {
    const d = this.readForm();
    if (!d || d.steps.length >= MAX_STEPS) return;
    d.steps.push(emptyStep());
    this.renderForm();
    document.getElementById(`step-${d.steps.length}-page`)?.focus();
    this.host.announce(`Step ${d.steps.length} added`);
  }

  private removeStep(i: number): void {
    const d = this.readForm();
    if (!d || d.steps.length <= MIN_STEPS || this.mode.kind !== 'edit') return;
    d.steps.splice(i, 1);
    this.mode.errors = [];
    this.renderForm();
    const next = Math.min(i, d.steps.length - 1) + 1;
    document.getElementById(`step-${next}-legend`)?.focus();
    this.host.announce(`Step ${i + 1} removed`);
  }

  private renderForm(): void {
    if (this.mode.kind !== 'edit') return;
    const { draft: d, errors } = this.mode;
    const errorFor = (field: string) => errors.find((e) => e.field === field);
    const errorMessage = (field: string) => {
      const e = errorFor(field);
      return e ? h('p', { class: 'govuk-error-message', id: `${field}-error` }, hidden('Error: '), e.text) : null;
    };
    const describedBy = (field: string, hint?: string) => [hint, errorFor(field) ? `${field}-error` : null].filter(Boolean).join(' ') || null;
    const input = (field: string, value: string, extra: Record<string, string | null>) =>
      h('input', {
        class: `govuk-input${errorFor(field) ? ' govuk-input--error' : ''}`,
        id: field,
        name: field,
        type: 'text',
        value,
        spellcheck: 'false',
        autocomplete: 'off',
        ...extra,
      });
    const group = (field: string, ...children: Child[]) =>
      h('div', { class: `govuk-form-group${errorFor(field) ? ' govuk-form-group--error' : ''}` }, ...children);

    const summary = errors.length
      ? h(
          'div',
          { class: 'govuk-error-summary', id: 'funnel-errors', tabindex: '-1' },
          h(
            'div',
            { role: 'alert' },
            h('h2', { class: 'govuk-error-summary__title' }, 'There is a problem'),
            h(
              'div',
              { class: 'govuk-error-summary__body' },
              h(
                'ul',
                { class: 'govuk-list govuk-error-summary__list' },
                errors.map((e) =>
                  h(
                    'li',
                    null,
                    h(
                      'a',
                      {
                        href: `#${e.field}`,
                        onclick: (ev: Event) => {
                          // Move to the field without changing the address.
                          ev.preventDefault();
                          const target = document.getElementById(e.field);
                          target?.focus();
                          target?.closest('.govuk-form-group, fieldset')?.scrollIntoView({ block: 'start' });
                        },
                      },
                      e.text,
                    ),
                  ),
                ),
              ),
            ),
          ),
        )
      : null;

    const steps = d.steps.map((s, i) => {
      const n = i + 1;
      const id = (part: string) => `step-${n}-${part}`;
      const pagePanel = h(
        'div',
        { class: 'gh-step__fields', id: id('page-fields'), hidden: s.kind !== 'page' },
        group(
          id('page'),
          h('label', { class: 'govuk-label', for: id('page') }, 'Page'),
          h('div', { class: 'govuk-hint', id: id('page-hint') }, '* matches within one part of the path, ** across parts: /apply/*/done, /guidance/**'),
          errorMessage(id('page')),
          input(id('page'), s.page, { list: 'funnel-pages', 'aria-describedby': describedBy(id('page'), id('page-hint')), maxlength: '2000' }),
        ),
        group(
          id('site'),
          h('label', { class: 'govuk-label', for: id('site') }, 'Site (optional)'),
          h('div', { class: 'govuk-hint', id: id('site-hint') }, `Leave empty for ${this.site}.`),
          errorMessage(id('site')),
          input(id('site'), s.site, {
            list: 'funnel-hosts',
            'aria-describedby': describedBy(id('site'), id('site-hint')),
            maxlength: '253',
            class: `govuk-input govuk-input--width-20${errorFor(id('site')) ? ' govuk-input--error' : ''}`,
          }),
        ),
      );
      const eventPanel = h(
        'div',
        { class: 'gh-step__fields', id: id('event-fields'), hidden: s.kind !== 'event' },
        group(
          id('event'),
          h('label', { class: 'govuk-label', for: id('event') }, 'Event name'),
          errorMessage(id('event')),
          input(id('event'), s.event, { list: 'funnel-events', 'aria-describedby': describedBy(id('event')), maxlength: '120', class: `govuk-input govuk-input--width-20${errorFor(id('event')) ? ' govuk-input--error' : ''}` }),
        ),
      );
      const radio = (kind: 'page' | 'event', label: string) =>
        h(
          'div',
          { class: 'govuk-radios__item' },
          h('input', {
            class: 'govuk-radios__input',
            id: id(`kind-${kind}`),
            name: id('kind'),
            type: 'radio',
            value: kind,
            checked: s.kind === kind,
            onchange: () => {
              pagePanel.hidden = kind !== 'page';
              eventPanel.hidden = kind !== 'event';
            },
          }),
          h('label', { class: 'govuk-label govuk-radios__label', for: id(`kind-${kind}`) }, label),
        );
      return h(
        'fieldset',
        { class: 'govuk-fieldset gh-step', 'data-step': String(n) },
        h(
          'legend',
          { class: 'govuk-fieldset__legend govuk-fieldset__legend--s gh-step__legend', id: id('legend'), tabindex: '-1' },
          `Step ${n}`,
        ),
        h(
          'div',
          { class: 'govuk-form-group gh-step__kind' },
          h(
            'fieldset',
            { class: 'govuk-fieldset' },
            h('legend', { class: 'govuk-visually-hidden' }, `What step ${n} is`),
            h('div', { class: 'govuk-radios govuk-radios--inline govuk-radios--small' }, radio('page', 'A page'), radio('event', 'A custom event')),
          ),
        ),
        pagePanel,
        eventPanel,
        d.steps.length > MIN_STEPS
          ? h('button', { type: 'button', class: 'gh-link-button gh-step__remove', onclick: () => this.removeStep(i) }, 'Remove', hidden(` step ${n}`))
          : null,
      );
    });

    const form = h(
      'form',
      {
        class: 'gh-funnel-form',
        id: 'funnel-form',
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.save();
        },
      },
      summary,
      group(
        'funnel-name',
        h('label', { class: 'govuk-label govuk-label--s', for: 'funnel-name' }, 'Name'),
        h('div', { class: 'govuk-hint', id: 'funnel-name-hint' }, 'What people in your team will know it by, such as ‘Universal Credit claims’.'),
        errorMessage('funnel-name'),
        input('funnel-name', d.name, {
          class: `govuk-input govuk-input--width-30${errorFor('funnel-name') ? ' govuk-input--error' : ''}`,
          'aria-describedby': describedBy('funnel-name', 'funnel-name-hint'),
          maxlength: String(MAX_NAME),
          spellcheck: 'true',
        }),
      ),
      h('ol', { class: 'gh-steps', 'aria-label': 'Steps' }, steps.map((s) => h('li', { class: 'gh-steps__item' }, s))),
      d.steps.length < MAX_STEPS
        ? h('button', { type: 'button', class: 'govuk-button govuk-button--secondary', id: 'funnel-add-step', onclick: () => this.addStep() }, 'Add another step')
        : h('p', { class: 'govuk-body-s' }, `A funnel has at most ${MAX_STEPS} steps.`),
      h(
        'div',
        { class: 'govuk-button-group' },
        h('button', { type: 'submit', class: 'govuk-button', id: 'funnel-save' }, 'Save funnel'),
        h('button', { type: 'button', class: 'gh-link-button gh-funnel-form__cancel', onclick: () => this.cancel() }, 'Cancel'),
      ),
    );
    replace(
      this.main,
      h(
        'section',
        { class: 'gh-card gh-funnel-editor', 'aria-labelledby': 'funnel-form-heading' },
        h(
          'div',
          { class: 'gh-card__header' },
          h('h2', { class: 'gh-card__title', id: 'funnel-form-heading', tabindex: '-1' }, d.id ? `Change ‘${d.name || 'funnel'}’` : 'Create a funnel'),
        ),
        form,
      ),
    );
  }

  // --- export -----------------------------------------------------------------------

  private rows(): Cell[][] {
    const r = this.result;
    const f = this.resultFor;
    if (!r || !f) return [];
    const out: Cell[][] = [];
    const add = (period: string, list: StepResult[]) =>
      list.forEach((s, i) =>
        out.push([period, s.step, f.funnel.steps[i] ? stepLabel(f.funnel.steps[i], this.site) : '', s.visits, s.visitors, s.conversion_rate, s.dropoff, s.median_seconds]),
      );
    add('current', r.results);
    if (f.view.state.compare && f.view.state.compareWith === 'previous_period' && r.comparison) add('previous', r.comparison.results);
    return out;
  }

  private download(): void {
    const f = this.resultFor;
    const view = this.host.view();
    downloadCsv(`${slug(view.site)}-funnel-${slug(f?.funnel.name ?? 'funnel')}-${view.range.first}-to-${view.range.last}.csv`, [
      ['Period', 'Step', 'Step is', 'Visits', 'Visitors', 'Conversion from step 1 %', 'Visits lost since the step before', 'Median seconds from the step before'],
      ...this.rows(),
    ]);
  }

  exportRows(): Cell[][] {
    const f = this.resultFor;
    if (!f) return [];
    return this.rows().flatMap((row): Cell[][] => {
      const section = `Funnel ${f.funnel.name}${row[0] === 'previous' ? ' (previous period)' : ''}`;
      const item = `${row[1]}. ${row[2]}`;
      return [
        [section, item, 'visits', row[3]],
        [section, item, 'visitors', row[4]],
        [section, item, 'conversion_rate', row[5]],
        [section, item, 'dropoff', row[6]],
        [section, item, 'median_seconds', row[7]],
      ];
    });
  }
}

/** Which field an error from the server is about, by its wording. */
function fieldFor(text: string, d: Draft): string {
  const step = /step (\d+)/i.exec(text);
  if (step) {
    const n = Number(step[1]);
    const s = d.steps[n - 1];
    if (s) return `step-${n}-${s.kind === 'event' ? 'event' : /site|host/i.test(text) ? 'site' : 'page'}`;
  }
  return /step/i.test(text) ? 'step-1-page' : 'funnel-name';
}

function describe(funnel: Funnel, results: StepResult[], site: string): string {
  if (!results.length) return `Bar chart of the funnel ${funnel.name}: no figures.`;
  const last = results[results.length - 1];
  const lastStep = funnel.steps[results.length - 1];
  const n = (v: number | null) => (v == null ? 'a withheld number of' : formatNumber(v));
  return (
    `Bar chart of visits reaching each of the ${results.length} steps of ${funnel.name}: ` +
    `${n(results[0].visits)} visits at step 1, ${n(last.visits)} at step ${results.length}` +
    (lastStep ? ` (${stepLabel(lastStep, site)})` : '') +
    (last.conversion_rate == null ? '' : `, ${formatPercent(last.conversion_rate)} of the first`) +
    '. The figures are in the table below.'
  );
}
