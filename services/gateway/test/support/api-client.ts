/** A small typed HTTP client for end-to-end tests: JSON in, `{ status, body }` out. */
export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export class ApiClient {
  constructor(
    readonly base: string,
    private token?: string,
  ) {}

  as(token: string): ApiClient {
    return new ApiClient(this.base, token);
  }

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.token && !h.authorization) h.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${this.base}${path}`, { method, headers: h, body: payload });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
  }

  /** A download (logs, artifacts): the raw bytes, not JSON. */
  async download(path: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
    const res = await fetch(`${this.base}${path}`, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  get<T = Record<string, unknown>>(path: string): Promise<Reply<T>> {
    return this.call<T>('GET', path);
  }

  /**
   * A POST as a client should send it: a task create the gateway shed because its event loop was
   * late (429, `details.limit` gatewayLoopDelay — a full test run on two cores can make it so) is
   * sent again after its Retry-After, up to 30 times. Every other answer is returned as it is;
   * `call` sends once (the backpressure tests count those 429s).
   */
  async post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<Reply<T>> {
    for (let tries = 1; ; tries++) {
      const res = await this.call<T>('POST', path, body ?? {});
      const shed = res.status === 429 && path === '/api/v1/tasks' && (res.body as { details?: { limit?: string } }).details?.limit === 'gatewayLoopDelay';
      if (!shed || tries >= 30) return res;
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
    }
  }

  /** Registers and logs in a user; returns a client acting as that user. */
  async signUp(username: string): Promise<{ client: ApiClient; userId: string; token: string }> {
    const password = 'correct horse battery';
    const reg = await this.post<{ id: string }>('/api/v1/auth/register', { username, email: `${username}@example.com`, password });
    if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${JSON.stringify(reg.body)}`);
    const login = await this.post<{ accessToken: string }>('/api/v1/auth/login', { username, password });
    return { client: this.as(login.body.accessToken), userId: reg.body.id, token: login.body.accessToken };
  }
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
