// Paths through a page: where visits came from before it and went after it,
// several steps deep both ways, as a Sankey diagram and as tables with the
// same figures. Selecting a page (in the diagram or a table) explores paths
// through that page instead.
import { type RowsResult, stats } from './api';
import { cardFrame, message } from './cards';
import type { Cell } from './csv';
import { downloadCsv, slug } from './csv';
import { h, hidden, replace, uid } from './dom';
import { formatNumber } from './format';
import type { KnownHosts } from './journeys';
import { MAX_DEPTH } from './state';
import { type Host, type Section, type View, baseParams, stateLink } from './view';

type JourneyChart = typeof import('./journey-chart');

export type NodeKind = 'page' | 'entrance' | 'exit' | 'other';

export interface PathNode {
  id: string;
  position: number;
  site: string;
  page: string;
  kind: NodeKind;
  visits: number;
}

export interface PathLink {
  source: string;
  target: string;
  visits: number;
  visitors: number;
}

export interface PathsResult {
  page: { site: string; page: string; visits: number; visitors: number };
  nodes: PathNode[];
  links: PathLink[];
}

/** How a node is written: the path, with the host first when it is on another site. */
export function nodeLabel(n: Pick<PathNode, 'site' | 'page' | 'kind'>, site: string): string {
  if (n.kind !== 'page' || !n.site || n.site === site) return n.page;
  return `${n.site} ${n.page}`;
}

function stepsName(p: number): string {
  const n = Math.abs(p);
  return `${n} step${n === 1 ? '' : 's'} ${p < 0 ? 'before' : 'after'}`;
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0;
}

export interface BranchRow {
  position: number;
  link: PathLink;
  /** The node at `position`. */
  node: PathNode;
  /** The node it joins, one step nearer the chosen page. */
  via: PathNode;
  /** Share of the visits through `via` that took this branch, in percent (one decimal). */
  share: number;
}

/** The table rows of one position: every link between it and the position nearer the page. */
export function branchRows(r: PathsResult, position: number): BranchRow[] {
  const byId = new Map(r.nodes.map((n) => [n.id, n]));
  const total = new Map<string, number>();
  const rows: Omit<BranchRow, 'share'>[] = [];
  for (const link of r.links) {
    const source = byId.get(link.source);
    const target = byId.get(link.target);
    if (!source || !target) continue;
    if (position > 0 && target.position === position) rows.push({ position, link, node: target, via: source });
    else if (position < 0 && source.position === position) rows.push({ position, link, node: source, via: target });
    else continue;
  }
  for (const row of rows) total.set(row.via.id, (total.get(row.via.id) ?? 0) + row.link.visits);
  return rows
    .map((row) => ({ ...row, share: percent(row.link.visits, total.get(row.via.id) ?? 0) }))
    .sort((a, b) => b.via.visits - a.via.visits || a.via.id.localeCompare(b.via.id) || b.link.visits - a.link.visits);
}

/** The narrowest a column of the diagram (a node and its label) may be, in pixels. */
const MIN_COLUMN = 160;

export class PathsView implements Section {
  readonly el: HTMLElement;
  private readonly title: HTMLElement;
  private readonly figures: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly pageInput: HTMLInputElement;
  private readonly pageError: HTMLElement;
  private readonly pageGroup: HTMLElement;
  private readonly depthSelect: HTMLSelectElement;
  private readonly suggestions: HTMLDataListElement;
  private readonly status: HTMLElement;
  private readonly chartWrap: HTMLElement;
  private readonly chart: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly columnHeads: HTMLElement;
  private readonly tables: HTMLElement;
  private readonly details: HTMLDetailsElement;
  private result: PathsResult | null = null;
  private shownFor: View | null = null;
  private suggestionsKey = '';
  private chartModule: Promise<JourneyChart> | null = null;

  constructor(
    private readonly host: Host,
    private readonly hosts: KnownHosts,
  ) {
    const frame = cardFrame('journey-paths', 'Paths through a page', () => this.download());
    this.el = frame.el;
    this.el.classList.add('gh-card--paths');
    this.title = frame.header.querySelector('h2')!;
    this.figures = h('p', { class: 'gh-paths__figures', id: 'paths-figures' });
    frame.header.appendChild(this.figures);

    const listId = uid('page-suggestions');
    this.suggestions = h('datalist', { id: listId });
    this.pageInput = h('input', {
      class: 'govuk-input gh-paths__page',
      id: 'paths-page',
      name: 'page',
      type: 'text',
      list: listId,
      spellcheck: 'false',
      autocomplete: 'off',
      autocapitalize: 'none',
      maxlength: '2000',
      'aria-describedby': 'paths-page-hint',
    });
    this.pageError = h('p', { class: 'govuk-error-message', id: 'paths-page-error', hidden: true });
    this.depthSelect = h(
      'select',
      { class: 'govuk-select', id: 'paths-depth', name: 'depth' },
      Array.from({ length: MAX_DEPTH }, (_, i) => h('option', { value: String(i + 1) }, `${i + 1} step${i ? 's' : ''}`)),
    );
    this.depthSelect.addEventListener('change', () => this.submit());
    this.pageGroup = h(
      'div',
      { class: 'govuk-form-group gh-paths__field gh-paths__field--page' },
      h('label', { class: 'govuk-label', for: 'paths-page' }, 'Page'),
      h('div', { class: 'govuk-hint', id: 'paths-page-hint' }, 'A path on this site, such as /apply. Start typing to see the most visited pages.'),
      this.pageError,
      this.pageInput,
      this.suggestions,
    );
    this.form = h(
      'form',
      {
        class: 'gh-paths__form',
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          this.submit();
        },
      },
      this.pageGroup,
      h(
        'div',
        { class: 'govuk-form-group gh-paths__field' },
        h('label', { class: 'govuk-label', for: 'paths-depth' }, 'Steps before and after'),
        this.depthSelect,
      ),
      h('button', { type: 'submit', class: 'govuk-button gh-paths__submit', id: 'paths-submit' }, 'Explore paths'),
    );

    this.status = h('div', { class: 'gh-paths__status' });
    this.chart = h('div', { class: 'gh-sankey', role: 'img', 'aria-label': 'Paths diagram loading' });
    this.columnHeads = h('div', { class: 'gh-sankey__columns', 'aria-hidden': 'true' });
    this.scroller = h(
      'div',
      { class: 'gh-sankey-scroll', role: 'group', 'aria-label': 'Paths diagram' },
      h('div', { class: 'gh-sankey__inner' }, this.columnHeads, this.chart),
    );
    this.chartWrap = h(
      'div',
      { class: 'gh-sankey-wrap' },
      h(
        'ul',
        { class: 'gh-legend gh-sankey__legend', 'aria-label': 'Key to the diagram' },
        h('li', { class: 'gh-legend__item' }, h('span', { class: 'gh-node-swatch gh-node-swatch--centre', 'aria-hidden': 'true' }), 'Chosen page'),
        h('li', { class: 'gh-legend__item' }, h('span', { class: 'gh-node-swatch gh-node-swatch--page', 'aria-hidden': 'true' }), 'Page on this site'),
        h('li', { class: 'gh-legend__item' }, h('span', { class: 'gh-node-swatch gh-node-swatch--elsewhere', 'aria-hidden': 'true' }), 'Page on another site'),
        h(
          'li',
          { class: 'gh-legend__item' },
          h('span', { class: 'gh-node-swatch gh-node-swatch--muted', 'aria-hidden': 'true' }),
          'Entrance, exit or other pages',
        ),
      ),
      this.scroller,
      h('p', { class: 'govuk-hint gh-sankey__hint' }, 'Select a page in the diagram to explore paths through it. The tables below hold the same figures.'),
    );
    this.tables = h('div', { class: 'gh-paths__tables' });
    this.details = h(
      'details',
      { class: 'govuk-details gh-chart-details', id: 'paths-table' },
      h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Show the paths as tables')),
      h('div', { class: 'govuk-details__text' }, this.tables),
    );
    frame.body.append(this.form, this.status, this.chartWrap, this.details);
  }

  private submit(): void {
    const page = this.pageInput.value.trim();
    let error = '';
    if (!page) error = 'Enter a page, such as /apply';
    else if (!page.startsWith('/')) error = 'Enter a page that starts with /, such as /apply';
    replace(this.pageError, error ? [hidden('Error: '), error] : '');
    this.pageError.hidden = !error;
    this.pageGroup.classList.toggle('govuk-form-group--error', !!error);
    this.pageInput.classList.toggle('govuk-input--error', !!error);
    if (error) {
      this.pageInput.setAttribute('aria-describedby', 'paths-page-hint paths-page-error');
      this.pageInput.focus();
      return;
    }
    this.pageInput.setAttribute('aria-describedby', 'paths-page-hint');
    this.host.go({ page, depth: Number(this.depthSelect.value) });
  }

  private charts(): Promise<JourneyChart> {
    this.chartModule ??= import('./journey-chart');
    this.chartModule.catch(() => (this.chartModule = null));
    return this.chartModule;
  }

  private async loadSuggestions(view: View, signal: AbortSignal): Promise<string[]> {
    const key = JSON.stringify(baseParams(view));
    if (key === this.suggestionsKey) return [...this.suggestions.options].map((o) => o.value);
    const r = await stats<RowsResult>('breakdown', { ...baseParams(view), property: 'event:page', limit: '50' }, signal);
    const pages = r.results.map((row) => String(row.page ?? '')).filter((p) => p.startsWith('/'));
    replace(
      this.suggestions,
      pages.map((p) => h('option', { value: p })),
    );
    this.suggestionsKey = key;
    return pages;
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
    const { state } = view;
    this.pageInput.value = state.page;
    this.depthSelect.value = String(state.depth);
    void this.charts();
    this.el.setAttribute('aria-busy', 'true');
    this.el.classList.add('gh-card--loading');
    try {
      const suggestions = this.loadSuggestions(view, signal);
      if (!state.page) {
        // Nothing chosen yet: start with the most visited page.
        const pages = await suggestions;
        if (signal.aborted) return;
        if (pages.length) {
          this.host.go({ page: pages[0] }, { replace: true });
          return;
        }
        this.result = null;
        this.shownFor = view;
        replace(this.title, 'Paths through a page');
        replace(this.figures);
        replace(this.status, message('Nothing recorded in this period.'));
        this.chartWrap.hidden = true;
        this.details.hidden = true;
        return;
      }
      const params: Record<string, string> = { ...baseParams(view), page: state.page, depth: String(state.depth) };
      const [result, mod] = await Promise.all([stats<PathsResult>('paths', params, signal), this.charts(), suggestions.catch(() => [])]);
      if (signal.aborted) return;
      this.result = result;
      this.shownFor = view;
      for (const n of result.nodes) if (n.kind === 'page' && n.site) this.hosts.add(n.site);
      this.render(view, mod);
    } catch (e) {
      if (signal.aborted || (e as Error).name === 'AbortError') return;
      this.result = null;
      replace(this.title, 'Paths through ', h('span', { class: 'gh-paths__page-name' }, state.page));
      replace(this.figures);
      replace(this.status, message(`Could not load the paths: ${(e as Error).message}`, 'error'));
      this.chartWrap.hidden = true;
      this.details.hidden = true;
    } finally {
      if (!signal.aborted) {
        this.el.removeAttribute('aria-busy');
        this.el.classList.remove('gh-card--loading');
      }
    }
  }

  private render(view: View, mod: JourneyChart): void {
    const r = this.result!;
    const site = view.site;
    const centre = r.page;
    replace(this.title, 'Paths through ', h('span', { class: 'gh-paths__page-name' }, nodeLabel({ ...centre, kind: 'page' }, site)));
    replace(
      this.figures,
      h('strong', { 'data-metric': 'visits', 'data-value': String(centre.visits) }, formatNumber(centre.visits)),
      ` visit${centre.visits === 1 ? '' : 's'} by `,
      h('strong', { 'data-metric': 'visitors', 'data-value': String(centre.visitors) }, formatNumber(centre.visitors)),
      ` visitor${centre.visitors === 1 ? '' : 's'}`,
    );
    if (!centre.visits || !r.nodes.length) {
      replace(this.status, message(`No visits to ${centre.page} in this period. Choose another page or period.`));
      this.chartWrap.hidden = true;
      this.details.hidden = true;
      return;
    }
    replace(this.status);
    this.chartWrap.hidden = false;
    this.details.hidden = false;

    const positions = [...new Set(r.nodes.map((n) => n.position))].sort((a, b) => a - b);
    const first = positions[0] ?? 0;
    const columns = positions.length ? positions[positions.length - 1] - first + 1 : 1;
    const perColumn = new Map<number, number>();
    for (const n of r.nodes) perColumn.set(n.position, (perColumn.get(n.position) ?? 0) + 1);
    const tallest = Math.max(1, ...perColumn.values());
    this.chart.style.height = `${Math.min(1000, Math.max(400, tallest * 76 + 40))}px`;
    // Room for a readable label in every column; wider than the card, the diagram scrolls sideways.
    (this.chart.parentElement as HTMLElement).style.minWidth = `${columns * MIN_COLUMN}px`;
    // Column headings, over the nodes: the diagram puts column i at 8px + i × (width − 16px) / columns.
    this.columnHeads.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
    replace(
      this.columnHeads,
      Array.from({ length: columns }, (_, i) => {
        const p = first + i;
        return h('span', { class: `gh-sankey__column${p === 0 ? ' gh-sankey__column--centre' : ''}` }, p === 0 ? 'Chosen page' : stepsName(p));
      }),
    );
    // Keyboard users can scroll it when it is wider than the card.
    if (this.scroller.scrollWidth > this.scroller.clientWidth) this.scroller.tabIndex = 0;
    else this.scroller.removeAttribute('tabindex');
    this.chart.dataset.columns = String(columns);
    this.chart.dataset.nodes = String(r.nodes.length);
    this.chart.setAttribute('aria-label', this.describe(view));

    mod.drawSankey(
      this.chart,
      r.nodes.map((n) => ({
        id: n.id,
        column: n.position - first,
        prefix: n.kind === 'page' && n.site && n.site !== site ? n.site : '',
        text: n.page,
        style: n.position === 0 && n.kind === 'page' ? 'centre' : n.kind !== 'page' ? 'muted' : n.site && n.site !== site ? 'elsewhere' : 'page',
        visits: n.visits,
        selectable: n.kind === 'page' && (!n.site || n.site === site) && n.page !== centre.page,
      })),
      r.links,
      (id) => {
        const n = r.nodes.find((x) => x.id === id);
        if (!n) return;
        this.host.go({ page: n.page });
        this.host.announce(`Exploring paths through ${n.page}`);
      },
    );
    this.renderTables(view);
    // Wider than the card (on a phone): start with the chosen page in the middle.
    const centreX = ((-first + 1) / columns) * this.scroller.scrollWidth;
    this.scroller.scrollLeft = centreX > this.scroller.clientWidth ? centreX - this.scroller.clientWidth / 2 : 0;
  }

  private describe(view: View): string {
    const r = this.result!;
    const label = (n: PathNode) => nodeLabel(n, view.site);
    const top = (p: number) => branchRows(r, p).sort((a, b) => b.link.visits - a.link.visits)[0];
    const before = top(-1);
    const after = top(1);
    const parts = [`Diagram of paths through ${r.page.page}, ${view.state.depth} step${view.state.depth === 1 ? '' : 's'} before and after.`];
    if (before) parts.push(`Most visits came from ${label(before.node)} (${before.share}%).`);
    if (after) parts.push(`Most went on to ${label(after.node)} (${after.share}%).`);
    parts.push('The figures are in the tables below the diagram.');
    return parts.join(' ');
  }

  private pageCell(n: PathNode, view: View, withSite = false): HTMLElement {
    const text = withSite ? nodeLabel(n, view.site) : n.page;
    const centre = this.result!.page.page;
    const onSite = n.kind === 'page' && (!n.site || n.site === view.site);
    if (onSite && n.page !== centre) {
      return stateLink(this.host, { page: n.page }, { class: 'govuk-link gh-paths__link', 'data-page': n.page }, hidden('Explore paths through '), n.page);
    }
    return h('span', { class: n.kind === 'page' ? 'gh-paths__text' : 'gh-paths__text gh-paths__text--muted' }, text);
  }

  private renderTables(view: View): void {
    const r = this.result!;
    const positions = [...new Set(r.nodes.map((n) => n.position))].filter((p) => p !== 0).sort((a, b) => a - b);
    const centre = r.page.page;
    const num = (v: string | number, metric: string) =>
      h('td', { class: 'govuk-table__cell govuk-table__cell--numeric', 'data-metric': metric, 'data-value': String(v) }, metric === 'share' ? `${v}%` : formatNumber(Number(v)));
    replace(
      this.tables,
      h(
        'p',
        { class: 'govuk-body-s' },
        'One table for each step before and after ',
        centre,
        '. ‘Share’ is the part of the visits through the page one step nearer ',
        centre,
        ' that took each branch. ‘(entrance)’ means the visit started at that page, ‘(exit)’ that it ended there, ‘(other pages)’ joins the less visited pages.',
      ),
      positions.map((p) => {
        const rows = branchRows(r, p);
        const showVia = Math.abs(p) > 1;
        const viaHeader = p > 0 ? 'Previous page' : 'Next page';
        const header = (text: string, numeric = false) =>
          h('th', { scope: 'col', class: `govuk-table__header${numeric ? ' govuk-table__header--numeric' : ''}` }, text);
        return h(
          'table',
          { class: 'govuk-table gh-table--compact gh-paths__table', 'data-position': String(p) },
          h('caption', { class: 'govuk-table__caption govuk-table__caption--s' }, `${stepsName(p)} ${centre}`),
          h(
            'thead',
            { class: 'govuk-table__head' },
            h(
              'tr',
              { class: 'govuk-table__row' },
              showVia && p > 0 ? header(viaHeader) : null,
              header('Page'),
              header('Site'),
              showVia && p < 0 ? header(viaHeader) : null,
              header('Visits', true),
              header('Visitors', true),
              header('Share', true),
            ),
          ),
          h(
            'tbody',
            { class: 'govuk-table__body' },
            rows.map((row) =>
              h(
                'tr',
                { class: 'govuk-table__row', 'data-source': row.link.source, 'data-target': row.link.target },
                showVia && p > 0 ? h('td', { class: 'govuk-table__cell gh-paths__via' }, this.pageCell(row.via, view, true)) : null,
                h('th', { scope: 'row', class: 'govuk-table__header gh-paths__page-cell' }, this.pageCell(row.node, view)),
                h('td', { class: 'govuk-table__cell gh-paths__site' }, row.node.site || h('span', { class: 'gh-paths__none' }, '–', hidden('none'))),
                showVia && p < 0 ? h('td', { class: 'govuk-table__cell gh-paths__via' }, this.pageCell(row.via, view, true)) : null,
                num(row.link.visits, 'visits'),
                // The API counts no visitors on the links of entrances and exits.
                row.node.kind !== 'page' && row.node.kind !== 'other' && !row.link.visitors
                  ? h('td', { class: 'govuk-table__cell govuk-table__cell--numeric', 'data-metric': 'visitors', 'data-value': String(row.link.visitors) }, '–', hidden('not counted'))
                  : num(row.link.visitors, 'visitors'),
                num(row.share, 'share'),
              ),
            ),
          ),
        );
      }),
    );
  }

  private rows(): Cell[][] {
    const r = this.result;
    const view = this.shownFor;
    if (!r || !view) return [];
    const positions = [...new Set(r.nodes.map((n) => n.position))].filter((p) => p !== 0).sort((a, b) => a - b);
    return positions.flatMap((p) =>
      branchRows(r, p).map((row): Cell[] => [
        p,
        nodeLabel(p < 0 ? row.node : row.via, view.site),
        nodeLabel(p < 0 ? row.via : row.node, view.site),
        row.node.site,
        row.link.visits,
        row.link.visitors,
        row.share,
      ]),
    );
  }

  private download(): void {
    const view = this.host.view();
    const r = this.result;
    downloadCsv(`${slug(view.site)}-paths-${slug(r?.page.page ?? 'page')}-${view.range.first}-to-${view.range.last}.csv`, [
      ['Step', 'From', 'To', 'Site', 'Visits', 'Visitors', 'Share %'],
      ...this.rows(),
    ]);
  }

  exportRows(): Cell[][] {
    const r = this.result;
    if (!r) return [];
    return [
      ['Paths', r.page.page, 'visits', r.page.visits],
      ['Paths', r.page.page, 'visitors', r.page.visitors],
      ...this.rows().flatMap((row): Cell[][] => [
        [`Paths ${stepsName(Number(row[0]))}`, `${row[1]} → ${row[2]}`, 'visits', row[4]],
        [`Paths ${stepsName(Number(row[0]))}`, `${row[1]} → ${row[2]}`, 'visitors', row[5]],
      ]),
    ];
  }
}
