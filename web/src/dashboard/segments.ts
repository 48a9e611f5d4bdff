// Saved segments: a named set of filters, personal or shared with the
// organisation. The dashboard applies one by id (`segment=ID` on every
// call), so the server adds its filters and the audit log shows them.
import { get, send } from './api';
import type { Filter, FilterOp } from './state';
import type { Context } from './view';

export interface Segment {
  id: string;
  name: string;
  filters: unknown[];
  shared: boolean;
  mine: boolean;
}

const V2_OPS: Record<FilterOp, string> = { '==': 'is', '!=': 'is_not', '~': 'contains', '!~': 'contains_not' };

/** The dashboard's filters as the Stats API v2 writes them. */
export function toV2(filters: Filter[]): unknown[] {
  return filters.map((f) => [V2_OPS[f.op], f.prop, f.values]);
}

export class Segments {
  all: Segment[] = [];

  constructor(private readonly ctx: Context) {}

  private get query(): string {
    return new URLSearchParams({ site_id: this.ctx.site }).toString();
  }

  /** The segments the viewer may apply (none behind a link: it has its own). */
  async load(): Promise<Segment[]> {
    if (!this.ctx.user) return (this.all = []);
    const r = await get<{ results: Segment[] }>('segments', { site_id: this.ctx.site });
    return (this.all = r.results);
  }

  name(id: string): string {
    return this.all.find((s) => s.id === id)?.name ?? 'Saved segment';
  }

  async save(name: string, filters: Filter[], shared: boolean): Promise<Segment> {
    const made = await send<Segment>('POST', `segments?${this.query}`, { name, filters: toV2(filters), shared }, this.ctx.csrf);
    await this.load();
    return made;
  }

  async remove(id: string): Promise<void> {
    await send<void>('DELETE', `segments/${encodeURIComponent(id)}?${this.query}`, undefined, this.ctx.csrf);
    await this.load();
  }
}
