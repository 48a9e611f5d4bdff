// Countries: a table, and a world map loaded on demand; regions: a table,
// with the UK's four nations drawn when visitors came from them.
import type { Row } from './api';
import { type TabSpec, breakdownTable, cardFrame, csvFor, fetchBreakdown, longRows, message } from './cards';
import { type Cell, downloadCsv, slug } from './csv';
import { h, replace } from './dom';
import { countryName, formatNumber } from './format';
import { type Host, type Section, type View } from './view';
import { type Tabs, tabs } from './tabs';

const SPEC: TabSpec = {
  label: 'Countries',
  property: 'visit:country',
  column: 'Country',
  noun: 'country',
  metrics: ['visitors'],
  display: countryName,
};

const REGIONS: TabSpec = {
  label: 'Regions',
  property: 'visit:region',
  column: 'Region',
  noun: 'region',
  metrics: ['visitors'],
};

type MapModule = typeof import('./map');
type MapName = import('./map').MapName;
type NamesModule = typeof import('./region-names');

export class CountriesCard implements Section {
  readonly el: HTMLElement;
  private readonly tabs: Tabs;
  private tab = 0;
  private rows: Row[] = [];
  private regions: Row[] | null = null;
  private regionNames: ((code: string) => string) | null = null;
  private regionsError = '';
  private view: View | null = null;
  private loaded = false;
  private error = '';
  private expanded = false;
  private readonly mapEl: HTMLElement;
  private readonly nationsEl: HTMLElement;
  private readonly moreButton: HTMLButtonElement;
  private mapModule: Promise<MapModule> | null = null;

  /** `credit`: whom the places come from, when their licence asks it ("DB-IP"). */
  constructor(
    private readonly host: Host,
    credit: string | null,
  ) {
    const frame = cardFrame('countries', 'Locations', () => this.download());
    this.el = frame.el;
    this.tabs = tabs('Locations', (i) => {
      this.tab = i;
      this.render();
    });
    this.tabs.setTabs(['Map', 'Countries', 'Regions'], 0);
    frame.header.appendChild(this.tabs.list);
    frame.body.appendChild(this.tabs.panel);
    this.mapEl = h('div', { class: 'gh-map', role: 'img', 'aria-label': 'World map loading' });
    this.nationsEl = h('div', { class: 'gh-map gh-map--nations', role: 'img', 'aria-label': 'Map of UK nations loading' });
    this.moreButton = h('button', { type: 'button', class: 'gh-link-button', hidden: true, onclick: () => this.toggleMore() }, 'Show more');
    frame.footer.prepend(this.moreButton);
    // DB-IP Lite's licence (CC BY 4.0) asks for this wherever places are shown.
    frame.footer.prepend(
      h(
        'p',
        { class: 'gh-card__credit' },
        credit === 'DB-IP' ? ['IP geolocation by ', h('a', { class: 'govuk-link', href: 'https://db-ip.com' }, 'DB-IP'), '. '] : null,
        'Outlines: Natural Earth.',
      ),
    );
    replace(this.tabs.panel, message('Loading…'));
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
    this.view = view;
    this.regions = null;
    this.regionsError = '';
    this.el.setAttribute('aria-busy', 'true');
    this.el.classList.add('gh-card--loading');
    try {
      const rows = await fetchBreakdown(view, SPEC, 300, signal);
      if (signal.aborted) return;
      this.rows = rows;
      this.loaded = true;
      this.error = '';
    } catch (e) {
      if (signal.aborted || (e as Error).name === 'AbortError') return;
      this.rows = [];
      this.loaded = false;
      this.error = (e as Error).message;
    } finally {
      if (!signal.aborted) {
        this.el.removeAttribute('aria-busy');
        this.el.classList.remove('gh-card--loading');
      }
    }
    this.render();
  }

  private toggleMore(): void {
    this.expanded = !this.expanded;
    this.render();
  }

  private render(): void {
    this.moreButton.hidden = true;
    if (this.error) {
      replace(this.tabs.panel, message(`Could not load countries: ${this.error}`, 'error'));
      return;
    }
    if (!this.loaded) return;
    if (!this.rows.length) {
      replace(this.tabs.panel, message('No countries recorded in this period.'));
      return;
    }
    if (this.tab === 2) {
      this.renderRegions();
      return;
    }
    if (this.tab === 0) {
      replace(this.tabs.panel, this.mapEl);
      const top = this.rows
        .slice(0, 5)
        .map((r) => `${countryName(String(r.country))} ${formatNumber(Number(r.visitors))}`)
        .join('; ');
      this.mapEl.setAttribute(
        'aria-label',
        `World map shaded by visitors from ${this.rows.length} ${this.rows.length === 1 ? 'country' : 'countries'}. Most visitors: ${top}. The Countries tab lists every country.`,
      );
      const rows = this.rows.map((r) => ({ code: String(r.country), visitors: Number(r.visitors) || 0 }));
      this.draw(this.mapEl, 'world', rows, countryName, 'The map could not be drawn. The Countries tab lists every country.');
    } else {
      const shown = this.expanded ? this.rows : this.rows.slice(0, 10);
      replace(
        this.tabs.panel,
        breakdownTable(SPEC, shown, 'Countries, by visitors. Select a country to filter the dashboard by it.', (v) =>
          this.host.addFilter(SPEC.property, v),
        ),
      );
      this.moreButton.hidden = this.rows.length <= 10;
      this.moreButton.textContent = this.expanded ? 'Show fewer' : 'Show more';
      this.moreButton.setAttribute('aria-label', `${this.expanded ? 'Show fewer' : 'Show more'} countries`);
    }
  }

  /** Regions are fetched, with their names, when the tab is first opened. */
  private renderRegions(): void {
    if (this.regionsError) {
      replace(this.tabs.panel, message(`Could not load regions: ${this.regionsError}`, 'error'));
      return;
    }
    if (!this.regions || !this.regionNames) {
      replace(this.tabs.panel, message('Loading…'));
      const view = this.view;
      if (!view) return;
      const names: Promise<NamesModule> = import('./region-names');
      Promise.all([fetchBreakdown(view, REGIONS, 300, new AbortController().signal), names])
        .then(([rows, m]) => {
          if (this.view !== view) return;
          this.regions = rows;
          this.regionNames = m.regionName;
          if (this.tab === 2) this.render();
        })
        .catch((e) => {
          this.regionsError = (e as Error).message;
          if (this.tab === 2) this.render();
        });
      return;
    }
    if (!this.regions.length) {
      replace(this.tabs.panel, message('No regions recorded in this period. Regions need a city database (see the README).'));
      return;
    }
    const spec = { ...REGIONS, display: this.regionNames };
    const shown = this.expanded ? this.regions : this.regions.slice(0, 10);
    replace(
      this.tabs.panel,
      h(
        'div',
        null,
        this.nations(this.regions, this.regionNames),
        breakdownTable(spec, shown, 'Regions (such as Scotland or Wales), by visitors. Select a region to filter the dashboard by it.', (v) =>
          this.host.addFilter(REGIONS.property, v),
        ),
        h('p', { class: 'gh-card__note' }, 'Regions of mobile visitors are often wrong: mobile networks may route through another region.'),
      ),
    );
    this.moreButton.hidden = this.regions.length <= 10;
    this.moreButton.textContent = this.expanded ? 'Show fewer' : 'Show more';
    this.moreButton.setAttribute('aria-label', `${this.expanded ? 'Show fewer' : 'Show more'} regions`);
  }

  /**
   * The UK's four nations, drawn when any visitor came from one: what
   * mygov.scot and gov.wales ask first. Other countries' regions are in the
   * table only (no boundary data with a licence that fits is at hand).
   */
  private nations(regions: Row[], name: (code: string) => string): HTMLElement | null {
    const rows = regions
      .filter((r) => String(r.region).startsWith('GB-'))
      .map((r) => ({ code: String(r.region), visitors: Number(r.visitors) || 0 }));
    if (!rows.length) return null;
    const label = (code: string) => name(code).replace(/, United Kingdom$/, '');
    const counts = rows.map((r) => `${label(r.code)} ${formatNumber(r.visitors)}`).join('; ');
    this.nationsEl.setAttribute('aria-label', `Map of the UK's nations shaded by visitors: ${counts}. The table lists every region.`);
    this.draw(this.nationsEl, 'uk-nations', rows, label, 'The map of UK nations could not be drawn. The table lists every region.');
    return this.nationsEl;
  }

  private draw(el: HTMLElement, map: MapName, rows: { code: string; visitors: number }[], label: (code: string) => string, failed: string): void {
    this.mapModule ??= import('./map');
    this.mapModule
      .then((m) => m.drawMap(el, map, rows, label))
      .catch((e) => {
        console.error(e);
        el.replaceWith(message(failed, 'error'));
      });
  }

  private download(): void {
    const view = this.host.view();
    if (this.tab === 2 && this.regions && this.regionNames) {
      const name = this.regionNames;
      const rows = csvFor(REGIONS, this.regions);
      const withNames: Cell[][] = rows.map((r, i) => (i === 0 ? ['Region code', 'Region', ...r.slice(1)] : [r[0], name(String(r[0])), ...r.slice(1)]));
      downloadCsv(`${slug(view.site)}-regions-${view.range.first}-to-${view.range.last}.csv`, withNames);
      return;
    }
    const rows = csvFor(SPEC, this.rows);
    // Codes and names: the API's code, then the name people read.
    const withNames: Cell[][] = rows.map((r, i) => (i === 0 ? ['Country code', 'Country', ...r.slice(1)] : [r[0], countryName(String(r[0])), ...r.slice(1)]));
    downloadCsv(`${slug(view.site)}-countries-${view.range.first}-to-${view.range.last}.csv`, withNames);
  }

  exportRows(): Cell[][] {
    return longRows('Countries', SPEC, this.rows);
  }
}
