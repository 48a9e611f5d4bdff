// All sites at once: every site of the organisation with its totals and a
// small chart, the sites partners share with it (under their agreements'
// limits), and the organisation's chosen sites combined. Every figure comes
// from the Stats API, through the gate, as on the dashboard.
import { showAccount } from '../dashboard/account';
import { ApiError, stats } from '../dashboard/api';
import { h, hidden, replace } from '../dashboard/dom';
import { formatDuration, formatNumber } from '../dashboard/format';

interface Site {
  host: string;
  organisation: string;
  /** Shared sites: the agreement's title and the purpose to ask for. */
  agreement?: string;
  purpose?: string;
}

interface Context {
  sites: Site[];
  shared: Site[];
  user: { username: string; organisation: string };
  csrf: string;
}

interface Figure {
  value: number | null;
  change?: number | null;
}
type Aggregate = { results: Record<string, Figure>; withheld?: string };
type Series = { results: { date: string; visitors: number | null }[] };
type Rows = { results: { page: string; visitors: number }[] };

const PERIODS = [
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['month', 'This month'],
  ['12mo', 'Last 12 months'],
] as const;
const OWN_METRICS = ['visitors', 'visits', 'pageviews', 'visit_duration'];
const LABELS: Record<string, string> = { visitors: 'Unique visitors', visits: 'Visits', pageviews: 'Page views', visit_duration: 'Visit duration' };

/** What one site answered. */
interface Answer {
  site: Site;
  figures: Record<string, Figure> | null;
  series: Series['results'];
  /** Why there are no figures (withheld or refused). */
  note?: string;
}

function readContext(): Context | null {
  try {
    return JSON.parse(document.getElementById('glasshouse-context')?.textContent ?? '') as Context;
  } catch {
    return null;
  }
}

function period(): string {
  const p = new URLSearchParams(location.search).get('period') ?? '';
  return PERIODS.some(([v]) => v === p) ? p : '30d';
}

function shown(metric: string, v: number | null | undefined): string {
  if (v == null) return '–';
  return metric === 'visit_duration' ? formatDuration(v) : formatNumber(v);
}

function change(f: Figure | undefined): string {
  if (f?.change == null) return '';
  if (f.change === 0) return 'no change';
  return f.change > 0 ? `up ${f.change}%` : `down ${-f.change}%`;
}

/** A small line of daily visitors, described in words for screen readers. */
function sparkline(series: Series['results'], label: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 200 40');
  svg.setAttribute('class', 'gh-spark');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const values = series.map((r) => r.visitors ?? 0);
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? 200 / (values.length - 1) : 200;
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', values.map((v, i) => `${(i * step).toFixed(1)},${(38 - (v / max) * 36).toFixed(1)}`).join(' '));
  svg.appendChild(line);
  return svg;
}

async function ask(site: Site, p: string, metrics: string[]): Promise<Answer> {
  const base: Record<string, string> = { site_id: site.host, period: p };
  if (site.purpose) base.purpose = site.purpose;
  try {
    const [agg, series] = await Promise.all([
      stats<Aggregate>('aggregate', { ...base, metrics: metrics.join(','), compare: 'previous_period' }),
      stats<Series>('timeseries', { ...base, metrics: 'visitors' }),
    ]);
    const note = agg.withheld ? `Withheld: ${agg.withheld}` : undefined;
    return { site, figures: agg.withheld ? null : agg.results, series: series.results, note };
  } catch (e) {
    return { site, figures: null, series: [], note: (e as ApiError).message };
  }
}

function card(a: Answer, metrics: string[], p: string, combine: HTMLInputElement | null): HTMLElement {
  const id = `site-${a.site.host.replace(/[^a-z0-9]/gi, '-')}`;
  const dashboard = a.site.agreement ? null : `/sites/${encodeURIComponent(a.site.host)}?period=${p}`;
  return h(
    'section',
    { class: 'gh-card gh-sitecard', 'aria-labelledby': `${id}-title`, 'data-site': a.site.host },
    h('h3', { class: 'gh-card__title', id: `${id}-title` }, dashboard ? h('a', { class: 'govuk-link', href: dashboard }, a.site.host) : a.site.host),
    h('p', { class: 'govuk-body-s gh-sitecard__who' }, a.site.agreement ? `${a.site.organisation}, shared under “${a.site.agreement}”` : a.site.organisation),
    a.figures
      ? h(
          'dl',
          { class: 'gh-sitecard__figures' },
          metrics.map((m) =>
            h(
              'div',
              { class: 'gh-sitecard__figure', 'data-metric': m, 'data-value': String(a.figures![m]?.value ?? '') },
              h('dt', null, LABELS[m]),
              h('dd', null, h('strong', null, shown(m, a.figures![m]?.value)), ' ', h('span', { class: 'gh-sitecard__change' }, change(a.figures![m]))),
            ),
          ),
        )
      : h('p', { class: 'govuk-body gh-sitecard__note' }, a.note ?? 'No figures.'),
    a.series.length ? sparkline(a.series, `Unique visitors by ${a.series.length > 60 ? 'month' : 'day'}, ${a.series[0].date} to ${a.series[a.series.length - 1].date}`) : null,
    combine
      ? h(
          'div',
          { class: 'govuk-checkboxes govuk-checkboxes--small' },
          h('div', { class: 'govuk-checkboxes__item' }, combine, h('label', { class: 'govuk-label govuk-checkboxes__label', for: combine.id }, 'Include in the combined figures', hidden(` of ${a.site.host}`))),
        )
      : null,
  );
}

class Overview {
  private readonly combined = h('section', { class: 'gh-card gh-combined', id: 'combined', 'aria-labelledby': 'combined-title' });
  private answers: Answer[] = [];
  private readonly boxes = new Map<string, HTMLInputElement>();
  private readonly status = h('div', { class: 'govuk-visually-hidden', 'aria-live': 'polite', id: 'gh-status' });

  constructor(private readonly ctx: Context) {}

  async mount(app: HTMLElement): Promise<void> {
    const p = period();
    const select = h(
      'select',
      { class: 'govuk-select', id: 'period', name: 'period', onchange: () => location.assign(`/overview?period=${select.value}`) },
      PERIODS.map(([v, label]) => h('option', { value: v, selected: v === p }, label)),
    );
    const own = h('div', { class: 'gh-sitecards', id: 'own-sites' }, h('p', { class: 'govuk-body' }, 'Loading…'));
    const shared = h('div', { class: 'gh-sitecards', id: 'shared-sites' });
    replace(
      app,
      this.status,
      h('span', { class: 'govuk-caption-m' }, this.ctx.user.organisation),
      h('h1', { class: 'govuk-heading-l' }, 'All sites'),
      h('div', { class: 'gh-toolbar', role: 'group', 'aria-label': 'What to show' }, h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'period' }, 'Period'), select)),
      h(
        'div',
        { class: 'govuk-inset-text', id: 'counting-note' },
        h('strong', null, 'How visitors are counted across sites. '),
        'Each site counts its own visitors: a person who visits two sites is counted once on each. The combined figures add the sites up; they are not de-duplicated, because visitor ids are not linked between sites (only within an agreement that links journeys, and then only for journeys).',
      ),
      h('h2', { class: 'govuk-heading-m' }, 'Your organisation’s sites'),
      own,
      this.combined,
      this.ctx.shared.length ? [h('h2', { class: 'govuk-heading-m' }, 'Shared with your organisation'), h('p', { class: 'govuk-body' }, 'Partners’ sites, under the agreements your organisation signed: only the figures those agreements share, rows about too few visitors withheld.'), shared] : null,
    );
    app.removeAttribute('aria-busy');
    const [mine, theirs] = await Promise.all([
      Promise.all(this.ctx.sites.map((s) => ask(s, p, OWN_METRICS))),
      Promise.all(this.ctx.shared.map((s) => ask(s, p, ['visitors']))),
    ]);
    this.answers = mine;
    replace(
      own,
      mine.map((a) => {
        const box = h('input', { class: 'govuk-checkboxes__input', type: 'checkbox', id: `combine-${this.boxes.size}`, checked: true, onchange: () => void this.combine(p) });
        this.boxes.set(a.site.host, box);
        return card(a, OWN_METRICS, p, box);
      }),
    );
    replace(shared, theirs.map((a) => card(a, ['visitors'], p, null)));
    await this.combine(p);
  }

  /** The chosen sites added up: totals, daily visitors, top pages. */
  private async combine(p: string): Promise<void> {
    const chosen = this.answers.filter((a) => this.boxes.get(a.site.host)?.checked && a.figures);
    const total = (m: string) => chosen.reduce((n, a) => n + (Number(a.figures![m]?.value) || 0), 0);
    const byDate = new Map<string, number>();
    for (const a of chosen) for (const r of a.series) byDate.set(r.date, (byDate.get(r.date) ?? 0) + (r.visitors ?? 0));
    const series = [...byDate].sort(([x], [y]) => x.localeCompare(y)).map(([date, visitors]) => ({ date, visitors }));
    const pages = new Map<string, number>();
    const tops = await Promise.all(chosen.map((a) => stats<Rows>('breakdown', { site_id: a.site.host, period: p, property: 'event:page', limit: '10' }).catch(() => ({ results: [] }))));
    chosen.forEach((a, i) => {
      for (const r of tops[i].results) pages.set(`${a.site.host}${r.page}`, r.visitors);
    });
    const top = [...pages].sort((x, y) => y[1] - x[1]).slice(0, 10);
    replace(
      this.combined,
      h('h2', { class: 'gh-card__title', id: 'combined-title' }, `Combined: ${chosen.length} site${chosen.length === 1 ? '' : 's'}`),
      h('p', { class: 'govuk-body-s' }, chosen.map((a) => a.site.host).join(', ') || 'Choose sites above.'),
      h(
        'dl',
        { class: 'gh-sitecard__figures' },
        ['visitors', 'visits', 'pageviews'].map((m) =>
          h('div', { class: 'gh-sitecard__figure', 'data-metric': m, 'data-value': String(total(m)) }, h('dt', null, `${LABELS[m]} (summed)`), h('dd', null, h('strong', null, formatNumber(total(m))))),
        ),
      ),
      series.length ? sparkline(series, `Unique visitors of the chosen sites, summed, ${series[0].date} to ${series[series.length - 1].date}`) : null,
      h(
        'table',
        { class: 'govuk-table gh-combined__pages', id: 'combined-pages' },
        h('caption', { class: 'govuk-table__caption govuk-table__caption--s' }, 'Top pages of the chosen sites'),
        h('thead', { class: 'govuk-table__head' }, h('tr', { class: 'govuk-table__row' }, h('th', { scope: 'col', class: 'govuk-table__header' }, 'Page'), h('th', { scope: 'col', class: 'govuk-table__header govuk-table__header--numeric' }, 'Unique visitors'))),
        h('tbody', { class: 'govuk-table__body' }, top.map(([page, n]) => h('tr', { class: 'govuk-table__row' }, h('td', { class: 'govuk-table__cell' }, page), h('td', { class: 'govuk-table__cell govuk-table__cell--numeric' }, formatNumber(n))))),
      ),
    );
    this.status.textContent = `Combined figures of ${chosen.length} sites`;
  }
}

const app = document.getElementById('app');
const ctx = readContext();
if (app && ctx) {
  showAccount(ctx.user, ctx.csrf);
  void new Overview(ctx).mount(app);
}
