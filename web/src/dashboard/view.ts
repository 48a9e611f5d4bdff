// The view every card draws: the site, the state from the URL and the days
// it covers, plus what cards may ask of the dashboard.
import type { Cell } from './csv';
import { type Attrs, type Child, h } from './dom';
import { type DateRange, type Filter, type State, filtersToApi, importParams, periodParams } from './state';

export interface SiteRef {
  host: string;
  organisation: string;
}

export interface Context {
  site: string;
  /** The site's time zone: the API's days are its local days. */
  timezone?: string;
  /** The first and last day of the site's history imported from Plausible. */
  imported?: { from: string; until: string } | null;
  /** Whom the places must be credited to ("DB-IP"), if anyone. */
  geo_credit?: string | null;
  sites: SiteRef[];
  /** The signed-in account; null behind a shared link. */
  user: { username: string; role: string; organisation: string } | null;
  csrf: string;
  /** Set behind a shared link: what it shows. */
  link?: SharedLink;
}

/** What the page behind a shared link says about it. */
export interface SharedLink {
  organisation: string;
  purpose: string;
  expires: string | null;
  segment: string | null;
  embed: boolean;
}

/** Whether the viewer may save definitions (annotations, segments, links). */
export function maySave(ctx: Context): boolean {
  return ctx.user?.role === 'analyst' || ctx.user?.role === 'admin';
}

export interface View {
  site: string;
  state: State;
  range: DateRange;
}

/** The common Stats API parameters of a view, with `extra` filters added. */
export function baseParams(view: View, extra: Filter[] = []): Record<string, string> {
  const p: Record<string, string> = { site_id: view.site, ...periodParams(view.state), ...importParams(view.state) };
  const filters = filtersToApi([...view.state.filters, ...extra]);
  if (filters) p.filters = filters;
  if (view.state.segment) p.segment = view.state.segment;
  return p;
}

/** What a card may ask of the dashboard. */
export interface Host {
  readonly context: Context;
  view(): View;
  /** The dashboard's address with `patch` applied to the state. */
  href(patch: Partial<State>): string;
  /** Changes the state as following a link would (or in place, with `replace`). */
  go(patch: Partial<State>, options?: { replace?: boolean; focus?: boolean }): void;
  /** Filters the whole dashboard by `prop == value`. */
  addFilter(prop: string, value: string): void;
  /** Announces a change to screen reader users. */
  announce(message: string): void;
}

/** A part of the dashboard that loads with the view and can be exported. */
export interface Section {
  readonly el: HTMLElement;
  load(view: View, signal: AbortSignal): Promise<void>;
  /** Rows for the whole-view CSV: [section, item, metric, value]. */
  exportRows(): Cell[][];
}

/**
 * A link within the dashboard: a real address (it can be opened in a new tab
 * or copied), followed in place when clicked.
 */
export function stateLink(host: Host, patch: Partial<State>, attrs: Attrs, ...children: (Child | Child[])[]): HTMLAnchorElement {
  const a = h('a', { class: 'govuk-link', ...attrs, href: host.href(patch) }, ...children);
  a.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    host.go(patch, { focus: true });
  });
  return a;
}
