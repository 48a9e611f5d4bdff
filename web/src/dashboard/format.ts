// Numbers as people read them: 1,234; 12.3k; 2m 05s; 43%.
import type { Metric } from './state';

const whole = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
const twoPlaces = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const oneDecimal = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const onePlace = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 1 });

/** 1,234 */
export function formatNumber(n: number): string {
  return whole.format(n);
}

/** 987; 9,876; 12.3k; 4.5M */
export function formatCompact(n: number): string {
  const a = Math.abs(n);
  if (a < 10_000) return whole.format(n);
  if (a < 1_000_000) return `${onePlace.format(n / 1000)}k`;
  return `${onePlace.format(n / 1_000_000)}M`;
}

/** 45s; 2m 05s; 1h 02m */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

/** A metric's value, in full. */
export function formatMetric(metric: Metric, value: number): string {
  switch (metric) {
    case 'views_per_visit':
      return twoPlaces.format(value);
    case 'bounce_rate':
    case 'scroll_depth':
      return `${whole.format(value)}%`;
    case 'conversion_rate':
      return `${oneDecimal.format(value)}%`;
    case 'visit_duration':
    case 'time_on_page':
      return formatDuration(value);
    default:
      return formatNumber(value);
  }
}

/** A metric's value where space is short (tables, chart axes). */
export function formatMetricShort(metric: Metric, value: number): string {
  switch (metric) {
    case 'views_per_visit':
    case 'bounce_rate':
    case 'visit_duration':
    case 'scroll_depth':
    case 'time_on_page':
    case 'conversion_rate':
      return formatMetric(metric, value);
    default:
      return formatCompact(value);
  }
}

const monthDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const fullDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const weekdayDate = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const monthYear = new Intl.DateTimeFormat('en-GB', { month: 'short', year: 'numeric', timeZone: 'UTC' });

/** Parses the API's "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" as UTC. */
export function parseApiDate(s: string): Date {
  const [d, t = '00:00:00'] = s.split(' ');
  return new Date(`${d}T${t}Z`);
}

/** 3 Nov 2026 */
export function formatDate(isoDay: string): string {
  return fullDate.format(parseApiDate(isoDay));
}

/** A chart bucket label: 13:00; 3 Nov; w/c 2 Nov; Nov 2026. */
export function formatBucket(label: string, interval: string, long = false): string {
  const d = parseApiDate(label);
  switch (interval) {
    case 'hour': {
      const time = `${String(d.getUTCHours()).padStart(2, '0')}:00`;
      return long ? `${weekdayDate.format(d)}, ${time}` : time;
    }
    case 'week':
      return long ? `Week commencing ${fullDate.format(d)}` : `w/c ${monthDay.format(d)}`;
    case 'month':
      return monthYear.format(d);
    default:
      return long ? weekdayDate.format(d) : monthDay.format(d);
  }
}

let regionNames: Intl.DisplayNames | null = null;
/** "GB" → "United Kingdom" (falls back to the code). */
export function countryName(code: string): string {
  try {
    regionNames ??= new Intl.DisplayNames(['en-GB'], { type: 'region' });
    return regionNames.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** A time as words people read aloud: 45 s; 2 min 10 s; 1 h 5 min; 2 d 3 h. */
export function formatDurationLong(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
  if (s < 60) return `${s} s`;
  if (s < 3600) return two(Math.floor(s / 60), 'min', s % 60, 's');
  if (s < 86_400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return two(Math.floor(s / 86_400), 'd', Math.floor((s % 86_400) / 3600), 'h');
}

/** 12.5% (one decimal place at most). */
export function formatPercent(v: number): string {
  return `${onePlace.format(v)}%`;
}
