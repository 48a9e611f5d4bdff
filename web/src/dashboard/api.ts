// The Stats API, called with the session cookie. A 401 means the session has
// ended: go to the sign-in page.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export type Row = Record<string, string | number>;

export async function stats<T>(endpoint: string, params: Record<string, string>, signal?: AbortSignal): Promise<T> {
  const url = `/api/v1/stats/${endpoint}?${new URLSearchParams(params).toString()}`;
  let r: Response;
  try {
    r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError('The server could not be reached. Check your connection and try again.', 0);
  }
  if (r.status === 401) {
    window.location.assign('/login');
    throw new ApiError('Your session has ended. Sign in again.', 401);
  }
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

export interface AggregateResult {
  results: Record<string, { value: number; change?: number }>;
}
export interface RowsResult {
  results: Row[];
}
