// The paths and funnels views, fetched when one is first shown so that the
// overview loads no code it does not use.
import { type Cell } from './csv';
import { h } from './dom';
import { FederatedCard } from './federated';
import { FunnelsView } from './funnels';
import { PathsView } from './paths';
import type { Context, Host, Section, View } from './view';

/** Sites a funnel step may be on: the user's other sites and any seen in path results. */
export class KnownHosts {
  private readonly hosts = new Set<string>();

  constructor(private readonly ctx: Context) {
    for (const s of ctx.sites) this.add(s.host);
  }

  add(host: string): void {
    if (host) this.hosts.add(host);
  }

  /** Every known host but the dashboard's own, sorted. */
  others(): string[] {
    return [...this.hosts].filter((h) => h !== this.ctx.site).sort();
  }
}

/** A view of several sections, loaded together. */
class Together implements Section {
  readonly el: HTMLElement;

  constructor(private readonly parts: Section[]) {
    this.el = h('div', { class: 'gh-together' }, parts.map((p) => p.el));
  }

  async load(view: View, signal: AbortSignal): Promise<void> {
    await Promise.all(this.parts.map((p) => p.load(view, signal)));
  }

  exportRows(): Cell[][] {
    return this.parts.flatMap((p) => p.exportRows());
  }
}

export function createViews(host: Host): { paths: Section; funnels: Section } {
  const hosts = new KnownHosts(host.context);
  // Figures computed with partners' nodes sit beside the local funnels.
  const funnels = new Together([new FunnelsView(host, hosts), new FederatedCard()]);
  return { paths: new PathsView(host, hosts), funnels };
}
