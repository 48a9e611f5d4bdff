// A tiny element builder. Every string child becomes a text node and every
// attribute is set with setAttribute, so text from browsers (paths,
// referrers, event properties) can never become markup. There is no
// innerHTML anywhere in the dashboard.

export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | EventListener;
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (typeof value === 'function') {
        el.addEventListener(name.replace(/^on/, ''), value);
      } else if (name === 'class') {
        el.className = String(value);
      } else {
        el.setAttribute(name, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces the children of `el`. */
export function replace(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Text only a screen reader reads. */
export function hidden(text: string): HTMLSpanElement {
  return h('span', { class: 'govuk-visually-hidden' }, text);
}

let ids = 0;
/** A unique id for aria-* links. */
export function uid(prefix: string): string {
  ids += 1;
  return `${prefix}-${ids}`;
}
