// Accessible tabs (WAI-ARIA tabs pattern): real buttons with role="tab" and
// aria-selected, one tab stop, arrow keys move between tabs.
import { h, uid } from './dom';

export interface Tabs {
  list: HTMLElement;
  panel: HTMLElement;
  select(index: number, focus?: boolean): void;
  setTabs(labels: string[], selected: number): void;
}

export function tabs(label: string, onSelect: (index: number) => void): Tabs {
  const panelId = uid('panel');
  const list = h('div', { class: 'gh-tabs', role: 'tablist', 'aria-label': label });
  const panel = h('div', { class: 'gh-tabpanel', role: 'tabpanel', id: panelId, tabindex: '-1' });
  let buttons: HTMLButtonElement[] = [];

  function select(index: number, focus = false) {
    buttons.forEach((b, i) => {
      const on = i === index;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      if (on) panel.setAttribute('aria-labelledby', b.id);
    });
    if (focus) buttons[index]?.focus();
  }

  function setTabs(labels: string[], selected: number) {
    buttons = labels.map((text, i) =>
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          class: 'gh-tab',
          id: uid('tab'),
          'aria-controls': panelId,
          onclick: () => {
            select(i);
            onSelect(i);
          },
          onkeydown: (e: Event) => {
            const k = (e as KeyboardEvent).key;
            const n = buttons.length;
            const next =
              k === 'ArrowRight' ? (i + 1) % n : k === 'ArrowLeft' ? (i - 1 + n) % n : k === 'Home' ? 0 : k === 'End' ? n - 1 : -1;
            if (next < 0) return;
            e.preventDefault();
            select(next, true);
            onSelect(next);
          },
        },
        text,
      ),
    );
    list.replaceChildren(...buttons);
    // An empty tablist is not allowed; nothing to choose from, nothing shown.
    list.hidden = buttons.length === 0;
    select(selected);
  }

  return { list, panel, select, setTabs };
}
