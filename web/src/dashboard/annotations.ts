// Annotations: dated notes (a release, a campaign, an outage) shown on the
// chart and listed under it, with a form for analysts to add, change and
// delete them. Their text is the organisation's own and shown as text.
import { ApiError, get, send } from './api';
import { h, replace } from './dom';
import { formatDate } from './format';
import { siteToday } from './state';
import { type Context, maySave } from './view';

export interface Note {
  id: string;
  date: string;
  text: string;
}

const MAX_TEXT = 500;

export class AnnotationsPanel {
  readonly el: HTMLElement;
  private notes: Note[] = [];
  private loading: Promise<void> | null = null;
  private readonly list = h('ul', { class: 'govuk-list gh-notes__list', id: 'annotations-list' });
  private readonly summary = h('span', { class: 'govuk-details__summary-text' }, 'Annotations');
  private readonly form: HTMLFormElement;
  private readonly dateInput: HTMLInputElement;
  private readonly textInput: HTMLInputElement;
  private readonly submit: HTMLButtonElement;
  private readonly error = h('p', { class: 'govuk-error-message', id: 'annotation-error', hidden: true });
  private editing: string | null = null;
  private range = { first: '', last: '' };

  constructor(
    private readonly ctx: Context,
    /** Called when the notes change, to redraw the chart. */
    private readonly changed: () => void,
  ) {
    this.dateInput = h('input', { class: 'govuk-input gh-input--date', id: 'annotation-date', name: 'date', type: 'date', required: true, min: '2000-01-01' });
    this.textInput = h('input', { class: 'govuk-input', id: 'annotation-text', name: 'text', type: 'text', required: true, maxlength: MAX_TEXT, autocomplete: 'off' });
    this.submit = h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary gh-toolbar__button' }, 'Add annotation');
    this.form = h(
      'form',
      { class: 'gh-notes__form', id: 'annotation-form', 'aria-describedby': 'annotation-error', onsubmit: (e: Event) => void this.save(e) },
      this.error,
      h(
        'div',
        { class: 'gh-custom__fields' },
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'annotation-date' }, 'Date'), this.dateInput),
        h('div', { class: 'gh-field gh-notes__text' }, h('label', { class: 'govuk-label', for: 'annotation-text' }, 'What happened'), this.textInput),
        this.submit,
      ),
    );
    this.el = h(
      'details',
      { class: 'govuk-details gh-chart-details gh-notes', id: 'annotations' },
      h('summary', { class: 'govuk-details__summary' }, this.summary),
      h('div', { class: 'govuk-details__text' }, this.list, this.mayEdit() ? this.form : null),
    );
  }

  private mayEdit(): boolean {
    return maySave(this.ctx);
  }

  /** Every note of the site, read once (again after a change). */
  async load(): Promise<Note[]> {
    this.loading ??= get<{ results: Note[] }>('annotations', { site_id: this.ctx.site }).then((r) => {
      this.notes = r.results;
    });
    await this.loading;
    return this.notes;
  }

  /** The notes on days in the period shown. */
  within(first: string, last: string): Note[] {
    return this.notes.filter((n) => n.date >= first && n.date <= last);
  }

  /** Lists the notes of `[first, last]`. */
  show(first: string, last: string): void {
    this.range = { first, last };
    const shown = this.within(first, last);
    replace(this.summary, `Annotations in this period (${shown.length})`);
    this.dateInput.max = siteToday();
    if (!this.dateInput.value) this.dateInput.value = last > siteToday() ? siteToday() : last;
    replace(
      this.list,
      shown.length
        ? shown.map((n) =>
            h(
              'li',
              { class: 'gh-notes__item', 'data-annotation': n.id },
              h('strong', null, formatDate(n.date)),
              ' ',
              h('span', { class: 'gh-notes__note' }, n.text),
              this.mayEdit()
                ? h(
                    'span',
                    { class: 'gh-notes__actions' },
                    h('button', { type: 'button', class: 'gh-link-button', onclick: () => this.edit(n) }, 'Change', h('span', { class: 'govuk-visually-hidden' }, ` the note of ${formatDate(n.date)}`)),
                    h('button', { type: 'button', class: 'gh-link-button', onclick: () => void this.remove(n) }, 'Delete', h('span', { class: 'govuk-visually-hidden' }, ` the note of ${formatDate(n.date)}`)),
                  )
                : null,
            ),
          )
        : h('li', { class: 'gh-notes__empty' }, 'No annotations in this period.'),
    );
  }

  private edit(n: Note): void {
    this.editing = n.id;
    this.dateInput.value = n.date;
    this.textInput.value = n.text;
    this.submit.textContent = 'Save changes';
    this.textInput.focus();
  }

  private async save(e: Event): Promise<void> {
    e.preventDefault();
    this.error.hidden = true;
    const body = { date: this.dateInput.value, text: this.textInput.value.trim() };
    const site = new URLSearchParams({ site_id: this.ctx.site });
    try {
      if (this.editing) await send('PUT', `annotations/${encodeURIComponent(this.editing)}?${site}`, body, this.ctx.csrf);
      else await send('POST', `annotations?${site}`, body, this.ctx.csrf);
    } catch (err) {
      replace(this.error, h('span', { class: 'govuk-visually-hidden' }, 'Error: '), (err as ApiError).message);
      this.error.hidden = false;
      return;
    }
    this.editing = null;
    this.textInput.value = '';
    this.submit.textContent = 'Add annotation';
    await this.reload();
  }

  private async remove(n: Note): Promise<void> {
    const site = new URLSearchParams({ site_id: this.ctx.site });
    await send('DELETE', `annotations/${encodeURIComponent(n.id)}?${site}`, undefined, this.ctx.csrf).catch((err: ApiError) => {
      replace(this.error, err.message);
      this.error.hidden = false;
    });
    await this.reload();
  }

  private async reload(): Promise<void> {
    this.loading = null;
    await this.load();
    this.show(this.range.first, this.range.last);
    this.changed();
  }
}
