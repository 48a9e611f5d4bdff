// Custom events (everything but page views) and their properties. Selecting
// an event filters the dashboard by it; its properties then show for that
// event alone. Property keys are found by asking for the usual ones and
// keeping those with data; others can be typed in.
import type { Row } from './api';
import { type TabSpec, breakdownTable, cardFrame, csvFor, fetchBreakdown, longRows, message } from './cards';
import { type Cell, downloadCsv, slug } from './csv';
import { h, replace } from './dom';
import type { Filter } from './state';
import { type Host, type Section, type View } from './view';
import { type Tabs, tabs } from './tabs';

const NOT_PAGEVIEW: Filter = { prop: 'event:name', op: '!=', values: ['pageview'] };
const USUAL_KEYS = ['form', 'service', 'url'];
const NONE = '(none)';

const EVENTS: TabSpec = {
  label: 'Custom events',
  property: 'event:name',
  column: 'Event',
  noun: 'event',
  metrics: ['visitors', 'events'],
  extraFilters: [NOT_PAGEVIEW],
};

function propSpec(key: string): TabSpec {
  return {
    label: key,
    property: `event:props:${key}`,
    column: `Value of ‘${key}’`,
    noun: `${key}`,
    metrics: ['visitors', 'events'],
    extraFilters: [NOT_PAGEVIEW],
  };
}

export class EventsCard implements Section {
  readonly el: HTMLElement;
  private readonly eventsPanel: HTMLElement;
  private readonly propsHeading: HTMLElement;
  private readonly propsTabs: Tabs;
  private readonly propsForm: HTMLFormElement;
  private readonly keyInput: HTMLInputElement;
  private events: Row[] = [];
  private props: { key: string; rows: Row[] }[] = [];
  private propTab = 0;
  private extraKeys: string[] = [];
  private lastView: View | null = null;
  private controller: AbortController | null = null;

  constructor(private readonly host: Host) {
    const frame = cardFrame('events', 'Custom events', () => this.download(), 'Download events (CSV)');
    this.el = frame.el;
    this.el.classList.add('gh-card--wide');
    this.eventsPanel = h('div', { class: 'gh-events__list' }, message('Loading…'));
    this.propsHeading = h('h3', { class: 'gh-card__subtitle', id: 'props-heading' }, 'Properties');
    this.propsTabs = tabs('Property', (i) => {
      this.propTab = i;
      this.renderProps();
    });
    this.keyInput = h('input', {
      class: 'govuk-input gh-input--small',
      id: 'prop-key',
      name: 'prop-key',
      type: 'text',
      spellcheck: 'false',
      autocomplete: 'off',
      maxlength: '300',
    });
    this.propsForm = h(
      'form',
      {
        class: 'gh-inline-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.addKey(this.keyInput.value.trim());
        },
      },
      h('label', { class: 'govuk-label gh-inline-field__label', for: 'prop-key' }, 'Another property'),
      this.keyInput,
      h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary gh-button--small' }, 'Show'),
    );
    frame.body.appendChild(
      h(
        'div',
        { class: 'gh-events' },
        this.eventsPanel,
        h(
          'div',
          { class: 'gh-events__props', role: 'group', 'aria-labelledby': 'props-heading' },
          h('div', { class: 'gh-card__subheader' }, this.propsHeading, this.propsTabs.list),
          this.propsTabs.panel,
          this.propsForm,
        ),
      ),
    );
    frame.footer.appendChild(
      h(
        'button',
        { type: 'button', class: 'gh-link-button gh-download', 'data-download': 'properties', onclick: () => this.downloadProps() },
        'Download properties (CSV)',
      ),
    );
  }

  private keys(view: View): string[] {
    const fromFilters = view.state.filters.filter((f) => f.prop.startsWith('event:props:')).map((f) => f.prop.slice(12));
    return [...new Set([...USUAL_KEYS, ...this.extraKeys, ...fromFilters])];
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
    this.lastView = view;
    this.el.setAttribute('aria-busy', 'true');
    this.el.classList.add('gh-card--loading');
    const selected = view.state.filters.find((f) => f.prop === 'event:name' && f.op === '==' && f.values.length === 1)?.values[0];
    replace(this.propsHeading, selected ? `Properties of ‘${selected}’` : 'Properties');
    try {
      const keys = this.keys(view);
      const [events, ...props] = await Promise.all([
        fetchBreakdown(view, EVENTS, 20, signal),
        ...keys.map((k) => fetchBreakdown(view, propSpec(k), 21, signal)),
      ]);
      if (signal.aborted) return;
      this.events = events;
      const previousKey = this.props[this.propTab]?.key;
      this.props = keys
        .map((key, i) => ({ key, rows: props[i].filter((r) => r[key] !== NONE).slice(0, 20) }))
        .filter((p) => p.rows.length || this.extraKeys.includes(p.key));
      const again = this.props.findIndex((p) => p.key === previousKey);
      this.propTab = again >= 0 ? again : 0;
      this.renderEvents();
      this.renderProps();
    } catch (e) {
      if (signal.aborted || (e as Error).name === 'AbortError') return;
      this.events = [];
      this.props = [];
      replace(this.eventsPanel, message(`Could not load custom events: ${(e as Error).message}`, 'error'));
      replace(this.propsTabs.panel);
    } finally {
      if (!signal.aborted) {
        this.el.removeAttribute('aria-busy');
        this.el.classList.remove('gh-card--loading');
      }
    }
  }

  private async addKey(key: string): Promise<void> {
    if (!key) {
      this.keyInput.focus();
      return;
    }
    if (!this.extraKeys.includes(key) && !USUAL_KEYS.includes(key)) this.extraKeys.push(key);
    if (!this.lastView) return;
    this.controller?.abort();
    this.controller = new AbortController();
    await this.load(this.lastView, this.controller.signal);
    const i = this.props.findIndex((p) => p.key === key);
    if (i >= 0) {
      this.propTab = i;
      this.renderProps();
      this.propsTabs.select(i, true);
    }
    this.keyInput.value = '';
    this.host.announce(i >= 0 && this.props[i].rows.length ? `Showing property ${key}` : `No values recorded for property ${key}`);
  }

  private renderEvents(): void {
    replace(
      this.eventsPanel,
      this.events.length
        ? breakdownTable(EVENTS, this.events, 'Custom events, by visitors. Select an event to filter the dashboard by it.', (v) =>
            this.host.addFilter('event:name', v),
          )
        : message('No custom events recorded in this period.'),
    );
  }

  private renderProps(): void {
    this.propsTabs.setTabs(
      this.props.map((p) => p.key),
      this.propTab,
    );
    const p = this.props[this.propTab];
    if (!p) {
      replace(this.propsTabs.panel, message('No event properties recorded in this period. Type a property name to look it up.'));
      return;
    }
    if (!p.rows.length) {
      replace(this.propsTabs.panel, message(`No values recorded for ‘${p.key}’ in this period.`));
      return;
    }
    const spec = propSpec(p.key);
    replace(
      this.propsTabs.panel,
      breakdownTable(spec, p.rows, `Values of the property ${p.key}, by visitors. Select a value to filter the dashboard by it.`, (v) =>
        this.host.addFilter(spec.property, v),
      ),
    );
  }

  private download(): void {
    const view = this.host.view();
    downloadCsv(`${slug(view.site)}-custom-events-${view.range.first}-to-${view.range.last}.csv`, csvFor(EVENTS, this.events));
  }

  private downloadProps(): void {
    const view = this.host.view();
    const p = this.props[this.propTab];
    const rows: Cell[][] = p ? csvFor(propSpec(p.key), p.rows) : [['Property', 'Visitors', 'Events']];
    downloadCsv(`${slug(view.site)}-property-${slug(p?.key ?? 'none')}-${view.range.first}-to-${view.range.last}.csv`, rows);
  }

  exportRows(): Cell[][] {
    return [
      ...longRows('Custom events', EVENTS, this.events),
      ...this.props.flatMap((p) => longRows(`Property ${p.key}`, propSpec(p.key), p.rows)),
    ];
  }
}
