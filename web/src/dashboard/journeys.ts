// The paths and funnels views, fetched when one is first shown so that the
// overview loads no code it does not use.
import { FunnelsView } from './funnels';
import { PathsView } from './paths';
import type { Context, Host, Section } from './view';

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

export function createViews(host: Host): { paths: Section; funnels: Section } {
  const hosts = new KnownHosts(host.context);
  return { paths: new PathsView(host, hosts), funnels: new FunnelsView(host, hosts) };
}
