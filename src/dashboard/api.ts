/** The dashboard API, same origin, the session cookie sent by the browser (HttpOnly: no script can read it). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => ({}))) as { error?: { message?: string } } & T;
  if (!res.ok) throw new ApiError(res.status, data.error?.message ?? `HTTP ${res.status}`);
  return data;
}

export interface Me {
  actor: string;
  user: string | null;
  team: string | null;
  role: string;
  scope: 'all' | 'team' | 'self' | 'none';
  can: { org: boolean; approve: boolean; teams: string[]; teamDetail: boolean };
}
