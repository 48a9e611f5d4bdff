// "Add a filter": any property with any of the four operators, as
// Plausible's filter modal offers them; the values suggested are the
// view's own top values of that property, as filtered now.
import { type RowsResult, stats } from './api';
import { h, replace } from './dom';
import { countryName } from './format';
import { type Filter, type FilterOp, OP_LABELS, propertyLabel } from './state';
import { type Host, baseParams } from './view';

/** A custom property: its name is typed in. */
const CUSTOM = 'event:props';

/** The properties offered, in the order people look for them. */
const PROPERTIES = [
  'event:page',
  'visit:entry_page',
  'visit:exit_page',
  'event:goal',
  'event:name',
  'visit:source',
  'visit:channel',
  'visit:referrer',
  'visit:utm_source',
  'visit:utm_medium',
  'visit:utm_campaign',
  'visit:country',
  'visit:region',
  'visit:browser',
  'visit:os',
  'visit:device',
  'event:hostname',
  CUSTOM,
];

const OPS: FilterOp[] = ['==', '!=', '~', '!~'];

/** Most values suggested for a property. */
const SUGGESTED = 30;

/** Names for a property's values where it has them: places (the filter
 * keeps the code). Region names load with the map's code, when asked for. */
async function namer(prop: string): Promise<(value: string) => string> {
  if (prop === 'visit:country') return countryName;
  if (prop === 'visit:region') return (await import('./region-names')).regionName;
  return (value) => value;
}

/** The key a v1 breakdown row gives the property's value under. */
function rowKey(prop: string): string {
  return prop.startsWith(`${CUSTOM}:`) ? prop.slice(CUSTOM.length + 1) : prop.slice(prop.indexOf(':') + 1);
}

export class FilterForm {
  readonly el: HTMLDetailsElement;
  private readonly prop = h(
    'select',
    { class: 'govuk-select', id: 'filter-prop', name: 'property', onchange: () => void this.suggest() },
    PROPERTIES.map((p) => h('option', { value: p }, p === CUSTOM ? 'Custom property' : propertyLabel(p))),
  );
  private readonly key = h('input', {
    class: 'govuk-input gh-filter-add__key',
    id: 'filter-key',
    name: 'key',
    type: 'text',
    maxlength: 300,
    autocomplete: 'off',
    onchange: () => void this.suggest(),
  });
  private readonly keyField = h('div', { class: 'gh-field', hidden: true }, h('label', { class: 'govuk-label', for: 'filter-key' }, 'Property name'), this.key);
  private readonly op = h(
    'select',
    { class: 'govuk-select', id: 'filter-op', name: 'operator' },
    OPS.map((o) => h('option', { value: o }, OP_LABELS[o])),
  );
  private readonly value = h('input', {
    class: 'govuk-input gh-filter-add__value',
    id: 'filter-value',
    name: 'value',
    type: 'text',
    required: true,
    maxlength: 2000,
    autocomplete: 'off',
    list: 'filter-suggestions',
  });
  private readonly suggestions = h('datalist', { id: 'filter-suggestions' });
  private asked: AbortController | null = null;
  /** The values suggested, by the name they are shown with, and back. */
  private named = new Map<string, string>();
  private names = new Map<string, string>();

  constructor(private readonly host: Host) {
    this.el = h(
      'details',
      { class: 'govuk-details gh-filter-add', id: 'filter-add', ontoggle: () => this.el.open && void this.suggest() },
      h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Add a filter')),
      h(
        'form',
        { class: 'govuk-details__text gh-custom__fields', id: 'filter-form', onsubmit: (e: Event) => this.apply(e) },
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'filter-prop' }, 'Property'), this.prop),
        this.keyField,
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'filter-op' }, 'Condition'), this.op),
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'filter-value' }, 'Value'), this.value, this.suggestions),
        h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary gh-toolbar__button' }, 'Apply filter'),
      ),
    );
  }

  /** The property chosen, a custom one by its name; null until it is named. */
  private chosen(): string | null {
    const custom = this.prop.value === CUSTOM;
    this.keyField.hidden = !custom;
    this.key.required = custom;
    const key = this.key.value.trim();
    if (!custom) return this.prop.value;
    return key ? `${CUSTOM}:${key}` : null;
  }

  /** Offers the property's top values in the current view. */
  private async suggest(): Promise<void> {
    this.asked?.abort();
    const asked = (this.asked = new AbortController());
    // Never another property's values while this one's load.
    replace(this.suggestions);
    this.named.clear();
    this.names.clear();
    const prop = this.chosen();
    if (!prop) return;
    const view = this.host.view();
    try {
      const [r, name] = await Promise.all([
        stats<RowsResult>('breakdown', { ...baseParams(view), property: prop, limit: String(SUGGESTED) }, asked.signal),
        namer(prop),
      ]);
      if (asked.signal.aborted) return;
      const values = r.results.map((row) => String(row[rowKey(prop)] ?? '')).filter((v) => v !== '');
      this.names = new Map(values.map((v) => [v, name(v)]));
      this.named = new Map(values.map((v) => [name(v), v]));
      replace(this.suggestions, values.map((v) => h('option', { value: v, label: name(v) !== v ? name(v) : null })));
    } catch {
      // Suggestions are a help: without them any value can still be typed.
      if (!asked.signal.aborted) replace(this.suggestions);
    }
  }

  private apply(e: Event): void {
    e.preventDefault();
    const typed = this.value.value.trim();
    const prop = this.chosen();
    if (!typed || !prop) return;
    // "United Kingdom" typed where the suggestions offered it: its code.
    const value = this.named.get(typed) ?? typed;
    const f: Filter = { prop, op: this.op.value as FilterOp, values: [value] };
    const others = this.host.view().state.filters.filter((g) => g.prop !== f.prop);
    // Ready for the next filter: "is", no value.
    this.value.value = '';
    this.op.value = '==';
    this.el.open = false;
    this.host.go({ filters: [...others, f] });
    this.host.announce(`Filtered by ${propertyLabel(f.prop)} ${OP_LABELS[f.op]} ${this.names.get(value) ?? value}`);
    document.getElementById('filters-heading')?.focus();
  }
}
