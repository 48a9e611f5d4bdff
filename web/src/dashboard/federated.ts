// Journeys with partner organisations' nodes: the figures an agreement
// between nodes declares (visitors who did a step here and then one on the
// partner's site, or the other way), computed privately between the two
// nodes, each day once the day is over. Shown beside the local journeys,
// marked as such; nothing here is linked in this installation.
import { get } from './api';
import { cardFrame, message } from './cards';
import { type Cell, downloadCsv, slug } from './csv';
import { h, replace } from './dom';
import { formatDate, formatNumber } from './format';
import { periodParams } from './state';
import type { Section, View } from './view';

interface Listed {
  agreements: { agreement: string; title: string; in_force: boolean }[];
}

interface Day {
  date: string;
  status: 'released' | 'withheld' | 'pending' | 'not-linked' | 'unavailable';
  visitors: number | null;
  bound_999?: number | null;
  reason?: string | null;
}

interface Figures {
  agreement: string;
  title: string;
  k: number;
  epsilon_per_month: number | null;
  results: { id: string; title: string; steps: string[]; days: Day[] }[];
}

function dayText(d: Day): string {
  switch (d.status) {
    case 'released':
      return d.bound_999 ? `${formatNumber(d.visitors ?? 0)} ± ${Math.ceil(d.bound_999)}` : formatNumber(d.visitors ?? 0);
    case 'withheld':
      return 'Withheld (fewer than the agreement’s minimum)';
    case 'pending':
      return 'Not computed yet';
    case 'not-linked':
      return 'Not counted: the nodes agreed no link key that day';
    default:
      return `Unavailable${d.reason ? `: ${d.reason}` : ''}`;
  }
}

export class FederatedCard implements Section {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private shown: Figures[] = [];

  constructor() {
    const frame = cardFrame('federated', 'Journeys with partner organisations', () => this.download());
    this.el = frame.el;
    this.el.classList.add('gh-card--federated');
    this.el.hidden = true;
    this.body = frame.body;
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
    let listed: Listed;
    try {
      listed = await get<Listed>('federation', { site_id: view.site }, signal);
    } catch {
      this.el.hidden = true;
      return;
    }
    if (!listed.agreements.length) {
      this.el.hidden = true;
      return;
    }
    this.el.hidden = false;
    try {
      this.shown = await Promise.all(
        listed.agreements.map((a) =>
          get<Figures>('federation/figures', { site_id: view.site, agreement: a.agreement, ...periodParams(view.state) }, signal),
        ),
      );
    } catch (e) {
      if (signal.aborted) return;
      replace(this.body, message(e instanceof Error ? e.message : 'The figures could not be loaded.', 'error'));
      return;
    }
    replace(this.body, this.render());
  }

  private render(): HTMLElement[] {
    const note = h(
      'p',
      { class: 'govuk-body-s gh-federated__note' },
      h('strong', { class: 'govuk-tag govuk-tag--turquoise gh-federated__tag' }, 'Computed privately'),
      ' Each organisation keeps its own data. These figures are computed between the two organisations’ own installations by private set intersection: neither received the other’s visits or visitor ids. A day’s figure appears once the day is over.',
    );
    return [note, ...this.shown.flatMap((f) => f.results.map((r) => this.table(f, r)))];
  }

  private table(f: Figures, r: Figures['results'][number]): HTMLElement {
    const days = [...r.days].reverse();
    const noisy = f.epsilon_per_month != null;
    return h(
      'table',
      { class: 'govuk-table gh-table--compact gh-federated-table', 'data-figure': r.id },
      h(
        'caption',
        { class: 'govuk-table__caption govuk-table__caption--s' },
        r.title,
        h('span', { class: 'govuk-caption-s gh-federated__caption' }, `Visitors who ${r.steps[0]}, then ${r.steps[1]}, the same day. ${f.title}; groups under ${f.k} are withheld${noisy ? '; with differential-privacy noise (± is the 99.9 % bound)' : ''}.`),
      ),
      h('thead', { class: 'govuk-table__head' }, h('tr', { class: 'govuk-table__row' }, h('th', { class: 'govuk-table__header', scope: 'col' }, 'Day'), h('th', { class: 'govuk-table__header govuk-table__header--numeric', scope: 'col' }, 'Visitors'))),
      h(
        'tbody',
        { class: 'govuk-table__body' },
        days.length
          ? days.map((d) =>
              h('tr', { class: 'govuk-table__row', 'data-status': d.status }, h('td', { class: 'govuk-table__cell' }, formatDate(d.date)), h('td', { class: 'govuk-table__cell govuk-table__cell--numeric', 'data-value': d.visitors == null ? '' : String(d.visitors) }, dayText(d))),
            )
          : [h('tr', { class: 'govuk-table__row' }, h('td', { class: 'govuk-table__cell', colspan: '2' }, 'No finished day in this period'))],
      ),
    );
  }

  exportRows(): Cell[][] {
    return this.shown.flatMap((f) => f.results.flatMap((r) => r.days.map((d): Cell[] => [`Federated: ${r.title}`, d.date, 'visitors', d.visitors ?? d.status])));
  }

  private download(): void {
    downloadCsv(`${slug(this.shown[0]?.agreement ?? 'federated')}-federated.csv`, [['section', 'item', 'metric', 'value'], ...this.exportRows()]);
  }
}
