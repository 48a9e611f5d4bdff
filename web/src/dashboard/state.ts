// What the dashboard shows, and how that is written in the URL so a view can
// be bookmarked and shared: ?period=7d&filters=event:page==/a&metric=visitors&compare=1

export const METRICS = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration'] as const;
export type Metric = (typeof METRICS)[number] | 'events' | 'scroll_depth' | 'time_on_page' | 'conversion_rate' | 'total_revenue' | 'average_revenue';

export const METRIC_LABELS: Record<Metric, string> = {
  visitors: 'Unique visitors',
  visits: 'Total visits',
  pageviews: 'Total page views',
  views_per_visit: 'Views per visit',
  bounce_rate: 'Bounce rate',
  visit_duration: 'Visit duration',
  events: 'Events',
  scroll_depth: 'Scroll depth',
  time_on_page: 'Time on page',
  conversion_rate: 'Conversion rate',
  total_revenue: 'Revenue',
  average_revenue: 'Average revenue',
};

/** Whether a rise in the metric is good news (bounce rate: no). */
export const HIGHER_IS_BETTER: Record<Metric, boolean> = {
  visitors: true,
  visits: true,
  pageviews: true,
  views_per_visit: true,
  bounce_rate: false,
  visit_duration: true,
  events: true,
  scroll_depth: true,
  time_on_page: true,
  conversion_rate: true,
  total_revenue: true,
  average_revenue: true,
};

export const PERIODS = [
  ['day', 'Today'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['month', 'This month'],
  ['6mo', 'Last 6 months'],
  ['12mo', 'Last 12 months'],
  ['year', 'This year'],
  ['custom', 'Custom dates'],
] as const;
export type Period = (typeof PERIODS)[number][0];

export type Interval = 'hour' | 'day' | 'week' | 'month';
export const INTERVAL_LABELS: Record<Interval, string> = { hour: 'Hours', day: 'Days', week: 'Weeks', month: 'Months' };

export type FilterOp = '==' | '!=' | '~' | '!~';
export interface Filter {
  prop: string;
  op: FilterOp;
  values: string[];
}

/** The dashboard's views: the overview of figures, paths through a page, funnels. */
export const VIEWS = [
  ['overview', 'Overview'],
  ['paths', 'Paths'],
  ['funnels', 'Funnels'],
] as const;
export type ViewName = (typeof VIEWS)[number][0];

export const DEFAULT_DEPTH = 3;
export const MAX_DEPTH = 5;

export interface State {
  view: ViewName;
  /** Paths: the page explored ('' until one is chosen). */
  page: string;
  /** Paths: how many steps before and after the page, 1 to 5. */
  depth: number;
  /** Funnels: the id of the funnel shown ('' for the first). */
  funnel: string;
  period: Period;
  /** For `custom`: first and last day, YYYY-MM-DD. */
  from: string;
  to: string;
  filters: Filter[];
  /** The saved segment applied ('' for none): its id. */
  segment: string;
  metric: Metric;
  compare: boolean;
  /** What the period is compared with, when `compare` is on. */
  compareWith: Comparison;
  /** Empty: the API's default for the period. */
  interval: Interval | '';
  /** Whether the site's imported history is shown (where it has one). */
  imported: boolean;
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The site's time zone (IANA name): its days are the API's days. */
let siteZone = 'UTC';

export function setSiteZone(zone: string): void {
  siteZone = zone;
}

/** The first and last day of the site's imported history, if it has one. */
export interface ImportedDays {
  from: string;
  until: string;
}
let siteImports: ImportedDays | null = null;

export function setSiteImports(days: ImportedDays | null): void {
  siteImports = days;
}

export function importedDays(): ImportedDays | null {
  return siteImports;
}

/** Today in the site's time zone, YYYY-MM-DD. */
export function siteToday(): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: siteZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

export function parseState(search: string): State {
  const q = new URLSearchParams(search);
  const periodParam = q.get('period') ?? '';
  let period: Period = PERIODS.some(([p]) => p === periodParam) ? (periodParam as Period) : '30d';
  let from = '';
  let to = '';
  if (period === 'custom') {
    const [a = '', b = ''] = (q.get('date') ?? '').split(',');
    if (ISO_DAY.test(a) && ISO_DAY.test(b) && a <= b) {
      from = a;
      to = b;
    } else {
      period = '30d';
    }
  }
  const metricParam = q.get('metric') ?? '';
  const metric: Metric = (METRICS as readonly string[]).includes(metricParam) ? (metricParam as Metric) : 'visitors';
  const intervalParam = q.get('interval') ?? '';
  const interval = (['hour', 'day', 'week', 'month'] as const).find((i) => i === intervalParam) ?? '';
  const viewParam = q.get('view') ?? '';
  const depth = Number(q.get('depth'));
  return {
    view: VIEWS.find(([v]) => v === viewParam)?.[0] ?? 'overview',
    page: (q.get('page') ?? '').slice(0, 2000),
    depth: Number.isInteger(depth) && depth >= 1 && depth <= MAX_DEPTH ? depth : DEFAULT_DEPTH,
    funnel: (q.get('funnel') ?? '').slice(0, 100),
    period,
    from,
    to,
    filters: parseFilters(q.get('filters') ?? ''),
    segment: /^[0-9a-f]{1,32}$/.test(q.get('segment') ?? '') ? q.get('segment')! : '',
    metric,
    compare: q.get('compare') === '1' || q.get('compare') === 'year',
    compareWith: q.get('compare') === 'year' ? 'year_over_year' : 'previous_period',
    interval,
    imported: q.get('imported') !== '0',
  };
}

export function stateToSearch(s: State): string {
  const q = new URLSearchParams();
  // Only what the view shown uses.
  if (s.view === 'paths') {
    q.set('view', 'paths');
    if (s.page) q.set('page', s.page);
    if (s.depth !== DEFAULT_DEPTH) q.set('depth', String(s.depth));
  } else if (s.view === 'funnels') {
    q.set('view', 'funnels');
    if (s.funnel) q.set('funnel', s.funnel);
  }
  q.set('period', s.period);
  if (s.period === 'custom') q.set('date', `${s.from},${s.to}`);
  if (s.filters.length) q.set('filters', filtersToApi(s.filters));
  if (s.segment) q.set('segment', s.segment);
  q.set('metric', s.metric);
  if (s.compare) q.set('compare', s.compareWith === 'year_over_year' ? 'year' : '1');
  if (s.interval) q.set('interval', s.interval);
  if (!s.imported) q.set('imported', '0');
  // Keep the separators readable in the address bar.
  return `?${q.toString().replace(/%3A/gi, ':').replace(/%2F/gi, '/').replace(/%3D/gi, '=').replace(/%2C/gi, ',')}`;
}

/** The period parameters of a Stats API call. */
export function periodParams(s: State): Record<string, string> {
  return s.period === 'custom' ? { period: 'custom', date: `${s.from},${s.to}` } : { period: s.period };
}

/** `with_imported` for the Stats API's figures, when the site has an imported history shown. */
export function importParams(s: State): Record<string, string> {
  return siteImports && s.imported ? { with_imported: 'true' } : {};
}

// --- filters --------------------------------------------------------------

/** A value can be written in a filter unless it holds the API's separators (see model::query::Filter). */
export function filterable(value: string): boolean {
  return !/;|!=/.test(value) && value.trim() === value && value !== '' && value.length <= 2000;
}

export function filtersToApi(filters: Filter[]): string {
  return filters.map((f) => `${f.prop}${f.op}${f.values.map((v) => v.replace(/\|/g, '\\|')).join('|')}`).join(';');
}

export function parseFilters(s: string): Filter[] {
  const out: Filter[] = [];
  for (const part of s.split(';')) {
    if (!part.trim()) continue;
    const m = /^(event:props:[^=!~]+|[a-z_]+:[a-z_]+)(==|!=|!~|~)(.*)$/s.exec(part.trim());
    if (!m) continue;
    const values: string[] = [''];
    for (let i = 0; i < m[3].length; i++) {
      const c = m[3][i];
      if (c === '\\' && m[3][i + 1] === '|') {
        values[values.length - 1] += '|';
        i++;
      } else if (c === '|') values.push('');
      else values[values.length - 1] += c;
    }
    out.push({ prop: m[1], op: m[2] as FilterOp, values });
  }
  return out.slice(0, 20);
}

/** Sets `prop == value`, replacing any other filter on the same property. */
export function withFilter(filters: Filter[], prop: string, value: string): Filter[] {
  return [...filters.filter((f) => f.prop !== prop), { prop, op: '==', values: [value] }];
}

export const PROPERTY_LABELS: Record<string, string> = {
  'event:page': 'Page',
  'event:name': 'Event',
  'event:goal': 'Goal',
  'event:hostname': 'Hostname',
  'visit:entry_page': 'Entry page',
  'visit:exit_page': 'Exit page',
  'visit:entry_page_hostname': 'Entry page hostname',
  'visit:exit_page_hostname': 'Exit page hostname',
  'visit:source': 'Source',
  'visit:referrer': 'Referrer',
  'visit:channel': 'Channel',
  'visit:utm_source': 'UTM source',
  'visit:utm_medium': 'UTM medium',
  'visit:utm_campaign': 'UTM campaign',
  'visit:utm_content': 'UTM content',
  'visit:utm_term': 'UTM term',
  'visit:browser': 'Browser',
  'visit:browser_version': 'Browser version',
  'visit:os': 'Operating system',
  'visit:os_version': 'Operating system version',
  'visit:device': 'Device',
  'visit:country': 'Country',
  'visit:region': 'Region',
};

export function propertyLabel(prop: string): string {
  if (prop.startsWith('event:props:')) return `Property ‘${prop.slice('event:props:'.length)}’`;
  return PROPERTY_LABELS[prop] ?? prop;
}

export const OP_LABELS: Record<FilterOp, string> = { '==': 'is', '!=': 'is not', '~': 'contains', '!~': 'does not contain' };

// --- dates ----------------------------------------------------------------

export interface DateRange {
  first: string;
  last: string;
}

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function monthsBack(firstOfMonth: string, n: number): string {
  const d = new Date(`${firstOfMonth}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() - n);
  return d.toISOString().slice(0, 10);
}

/** The days a period covers, as the server resolves it (model::query::DateRange). */
export function rangeOf(s: State, today = siteToday()): DateRange {
  switch (s.period) {
    case 'day':
      return { first: today, last: today };
    case '7d':
      return { first: addDays(today, -6), last: today };
    case '30d':
      return { first: addDays(today, -29), last: today };
    case '6mo':
      return { first: monthsBack(`${today.slice(0, 7)}-01`, 5), last: today };
    case '12mo':
      return { first: monthsBack(`${today.slice(0, 7)}-01`, 11), last: today };
    case 'year':
      return { first: `${today.slice(0, 4)}-01-01`, last: `${today.slice(0, 4)}-12-31` };
    case 'month': {
      const first = `${today.slice(0, 7)}-01`;
      return { first, last: addDays(monthsBack(first, -1), -1) };
    }
    case 'custom':
      return { first: s.from, last: s.to };
  }
}

export function daysIn(r: DateRange): number {
  return Math.round((Date.parse(`${r.last}T00:00:00Z`) - Date.parse(`${r.first}T00:00:00Z`)) / 86_400_000) + 1;
}

/** What a period can be compared with, as the API names it. */
export type Comparison = 'previous_period' | 'year_over_year';

/** The same days a year earlier (the server's `year_over_year`; 29 February becomes the 28th). */
export function yearEarlier(r: DateRange): DateRange {
  const back = (day: string) => {
    const y = String(Number(day.slice(0, 4)) - 1).padStart(4, '0');
    const md = day.slice(5) === '02-29' ? '02-28' : day.slice(5);
    return `${y}-${md}`;
  };
  return { first: back(r.first), last: back(r.last) };
}

/** The days the view's period is compared with. */
export function comparedRange(s: State, r: DateRange): DateRange {
  return s.compareWith === 'year_over_year' ? yearEarlier(r) : previousRange(r);
}

/** The range of the same length just before (the server's `previous_period`). */
export function previousRange(r: DateRange): DateRange {
  const last = addDays(r.first, -1);
  return { first: addDays(last, -(daysIn(r) - 1)), last };
}

export function defaultInterval(r: DateRange): Interval {
  const days = daysIn(r);
  return days === 1 ? 'hour' : days <= 92 ? 'day' : 'month';
}

/** Intervals worth offering for a range. */
export function intervalsFor(r: DateRange): Interval[] {
  const days = daysIn(r);
  if (days === 1) return ['hour'];
  if (days <= 7) return ['hour', 'day'];
  if (days <= 92) return ['day', 'week'];
  return ['week', 'month'];
}

export function periodLabel(s: State): string {
  return PERIODS.find(([p]) => p === s.period)?.[1] ?? s.period;
}
