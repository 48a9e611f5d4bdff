// Countries: a table, and a world map loaded on demand.
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

type MapModule = typeof import('./map');

export class CountriesCard implements Section {
  readonly el: HTMLElement;
  private readonly tabs: Tabs;
  private tab = 0;
  private rows: Row[] = [];
  private loaded = false;
  private error = '';
  private expanded = false;
  private readonly mapEl: HTMLElement;
  private readonly moreButton: HTMLButtonElement;
  private mapModule: Promise<MapModule> | null = null;

  constructor(private readonly host: Host) {
    const frame = cardFrame('countries', 'Countries', () => this.download());
    this.el = frame.el;
    this.tabs = tabs('Countries', (i) => {
      this.tab = i;
      this.render();
    });
    this.tabs.setTabs(['Map', 'Table'], 0);
    frame.header.appendChild(this.tabs.list);
    frame.body.appendChild(this.tabs.panel);
    this.mapEl = h('div', { class: 'gh-map', role: 'img', 'aria-label': 'World map loading' });
    this.moreButton = h('button', { type: 'button', class: 'gh-link-button', hidden: true, onclick: () => this.toggleMore() }, 'Show more');
    frame.footer.prepend(this.moreButton);
    replace(this.tabs.panel, message('Loading…'));
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
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
    if (this.tab === 0) {
      replace(this.tabs.panel, this.mapEl);
      const top = this.rows
        .slice(0, 5)
        .map((r) => `${countryName(String(r.country))} ${formatNumber(Number(r.visitors))}`)
        .join('; ');
      this.mapEl.setAttribute(
        'aria-label',
        `World map shaded by visitors from ${this.rows.length} ${this.rows.length === 1 ? 'country' : 'countries'}. Most visitors: ${top}. The Table tab lists every country.`,
      );
      this.mapModule ??= import('./map');
      const rows = this.rows.map((r) => ({ code: String(r.country), visitors: Number(r.visitors) || 0 }));
      this.mapModule
        .then((m) => m.drawMap(this.mapEl, rows))
        .catch((e) => {
          console.error(e);
          replace(this.tabs.panel, message('The map could not be drawn. The Table tab lists every country.', 'error'));
        });
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

  private download(): void {
    const view = this.host.view();
    const rows = csvFor(SPEC, this.rows);
    // Codes and names: the API's code, then the name people read.
    const withNames: Cell[][] = rows.map((r, i) => (i === 0 ? ['Country code', 'Country', ...r.slice(1)] : [r[0], countryName(String(r[0])), ...r.slice(1)]));
    downloadCsv(`${slug(view.site)}-countries-${view.range.first}-to-${view.range.last}.csv`, withNames);
  }

  exportRows(): Cell[][] {
    return longRows('Countries', SPEC, this.rows);
  }
}
