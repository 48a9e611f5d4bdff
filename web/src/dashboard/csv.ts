// CSV files made in the browser from what the page shows (RFC 4180, CRLF),
// safe to open in a spreadsheet: a text cell starting with = + - @ (or a tab
// or carriage return) is prefixed with ' so it cannot run as a formula.

export type Cell = string | number | null | undefined;

export function csvCell(v: Cell): string {
  if (v == null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: Cell[][]): string {
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** Offers `rows` as a file download. */
export function downloadCsv(filename: string, rows: Cell[][]): void {
  // A byte order mark so spreadsheet programs read UTF-8.
  const blob = new Blob(['\ufeff', toCsv(rows)], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A safe file name part: www.gov.uk → www.gov.uk; "a b/c" → a-b-c */
export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'data';
}
