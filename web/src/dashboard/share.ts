// Sharing the dashboard by link: analysts and admins make a read-only link
// (optionally with a password, an expiry and a segment), see the links of
// the site and withdraw them. A link's address holds its secret and is
// shown once, when it is made.
import { ApiError, get, send } from './api';
import { h, replace } from './dom';
import { formatDate } from './format';
import type { Segments } from './segments';
import { siteToday } from './state';
import type { Context } from './view';

interface SharedLink {
  id: string;
  created: string;
  expires: string | null;
  password: boolean;
  segment: { id: string; name: string } | null;
  url?: string;
}

export class SharePanel {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'govuk-list gh-share__list', id: 'share-list' });
  private readonly made = h('div', { class: 'gh-share__made', id: 'share-made', hidden: true });
  private readonly error = h('p', { class: 'govuk-error-message', id: 'share-error', hidden: true });
  private readonly password = h('input', { class: 'govuk-input gh-input--date', id: 'share-password', name: 'password', type: 'password', autocomplete: 'new-password' });
  private readonly expires = h('input', { class: 'govuk-input gh-input--date', id: 'share-expires', name: 'expires', type: 'date' });
  private readonly segment = h('select', { class: 'govuk-select', id: 'share-segment', name: 'segment' });

  constructor(
    private readonly ctx: Context,
    private readonly segments: Segments,
  ) {
    const form = h(
      'form',
      { class: 'gh-share__form', id: 'share-form', 'aria-describedby': 'share-error', onsubmit: (e: Event) => void this.create(e) },
      this.error,
      h(
        'div',
        { class: 'gh-custom__fields' },
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'share-password' }, 'Password (optional)'), this.password),
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'share-expires' }, 'Last day (optional)'), this.expires),
        h('div', { class: 'gh-field' }, h('label', { class: 'govuk-label', for: 'share-segment' }, 'Only this segment'), this.segment),
        h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary gh-toolbar__button', id: 'share-create' }, 'Create link'),
      ),
    );
    this.el = h(
      'details',
      { class: 'govuk-details gh-share', id: 'share' },
      h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Share this dashboard')),
      h(
        'div',
        { class: 'govuk-details__text' },
        h('p', { class: 'govuk-body-s' }, 'Anyone with the link sees this site’s figures without signing in, read-only. Partners’ figures appear only where an agreement allows publication. Each link is listed on the public transparency page, and its views are counted in the audit log.'),
        this.made,
        this.list,
        form,
      ),
    );
    this.el.addEventListener('toggle', () => {
      if ((this.el as HTMLDetailsElement).open) void this.load();
    });
  }

  private async load(): Promise<void> {
    this.expires.min = siteToday();
    replace(this.segment, h('option', { value: '' }, 'All visits'), this.segments.all.map((s) => h('option', { value: s.id }, s.name)));
    try {
      const r = await get<{ results: SharedLink[] }>('links', { site_id: this.ctx.site });
      this.render(r.results);
    } catch (e) {
      replace(this.list, h('li', null, (e as Error).message));
    }
  }

  private render(links: SharedLink[]): void {
    replace(
      this.list,
      links.length
        ? links.map((l) =>
            h(
              'li',
              { class: 'gh-share__item' },
              h('span', null, `Made ${formatDate(l.created.slice(0, 10))}`, l.expires ? `, works until ${formatDate(l.expires.slice(0, 10))}` : ', no expiry', l.password ? ', password' : '', l.segment ? `, segment ${l.segment.name}` : ''),
              ' ',
              h('button', { type: 'button', class: 'gh-link-button', 'data-link': l.id, onclick: () => void this.revoke(l) }, 'Withdraw', h('span', { class: 'govuk-visually-hidden' }, ` the link made ${formatDate(l.created.slice(0, 10))}`)),
            ),
          )
        : h('li', null, 'No links yet.'),
    );
  }

  private async create(e: Event): Promise<void> {
    e.preventDefault();
    this.error.hidden = true;
    const body: Record<string, string> = { site_id: this.ctx.site };
    if (this.password.value) body.password = this.password.value;
    if (this.expires.value) body.expires = this.expires.value;
    if (this.segment.value) body.segment = this.segment.value;
    try {
      const link = await send<SharedLink>('POST', 'links', body, this.ctx.csrf);
      this.password.value = '';
      const field = h('input', { class: 'govuk-input', id: 'share-url', type: 'text', readonly: true, value: link.url ?? '' });
      replace(
        this.made,
        h('label', { class: 'govuk-label', for: 'share-url' }, 'Your new link. Copy it now: it is shown only once.'),
        field,
      );
      this.made.hidden = false;
      field.select();
      await this.load();
    } catch (err) {
      replace(this.error, (err as ApiError).message);
      this.error.hidden = false;
    }
  }

  private async revoke(l: SharedLink): Promise<void> {
    try {
      await send<void>('DELETE', `links/${encodeURIComponent(l.id)}`, undefined, this.ctx.csrf);
      await this.load();
    } catch (err) {
      replace(this.error, (err as ApiError).message);
      this.error.hidden = false;
    }
  }
}
