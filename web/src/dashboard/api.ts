// The glasshouse APIs, called with the session cookie. A 401 means the session
// has ended: go to the sign-in page. Changes carry the page's CSRF token.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Revenue as the API writes it. */
export interface Money {
  short: string;
  long: string;
  value: number;
  currency: string;
}
export type Row = Record<string, string | number | Money | null>;

/** A row's figure as a number (revenue: its value). */
export function numeric(v: string | number | Money | null | undefined): number {
  if (v != null && typeof v === 'object') return v.value;
  return Number(v) || 0;
}

/** The secret of the shared link this page is behind, if it is behind one. */
const linkSecret = /^\/share\/([A-Za-z0-9_-]+)/.exec(location.pathname)?.[1] ?? null;

/** Whether this page is a shared link's read-only view. */
export const behindLink = linkSecret !== null;

async function request<T>(url: string, init: RequestInit): Promise<T> {
  let r: Response;
  const link: Record<string, string> = linkSecret ? { 'x-glasshouse-link': linkSecret } : {};
  try {
    r = await fetch(url, { credentials: 'same-origin', ...init, headers: { Accept: 'application/json', ...link, ...init.headers } });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError('The server could not be reached. Check your connection and try again.', 0);
  }
  if (r.status === 401 && !behindLink) {
    window.location.assign('/login');
    throw new ApiError('Your session has ended. Sign in again.', 401);
  }
  if (r.status === 204) return undefined as T;
  let body: unknown;
  try {
    body = await r.json();
  } catch {
    throw new ApiError(`The server answered ${r.status} without data.`, r.status);
  }
  if (!r.ok) {
    const reason = (body as { error?: unknown })?.error;
    throw new ApiError(typeof reason === 'string' ? reason : `The server answered ${r.status}.`, r.status);
  }
  return body as T;
}

/** GET /api/v1/<path>?<params>. */
export function get<T>(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<T> {
  return request<T>(`/api/v1/${path}?${new URLSearchParams(params).toString()}`, { signal });
}

/** A Stats API call: GET /api/v1/stats/<endpoint>. */
export function stats<T>(endpoint: string, params: Record<string, string>, signal?: AbortSignal): Promise<T> {
  return get<T>(`stats/${endpoint}`, params, signal);
}

/** POST, PUT or DELETE with a JSON body (or none) and the CSRF token. */
export function send<T>(
  method: 'POST' | 'PUT' | 'DELETE',
  path: string,
  body: unknown,
  csrf: string,
  signal?: AbortSignal,
): Promise<T> {
  const headers: Record<string, string> = { 'x-csrf-token': csrf };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return request<T>(`/api/v1/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
}

export interface AggregateResult {
  results: Record<string, { value: number; change?: number }>;
}
export interface RowsResult {
  results: Row[];
}
