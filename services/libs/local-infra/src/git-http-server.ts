/*
 * A git smart-HTTP remote for tests (a real git server, not a stand-in): git's own `git http-backend` (CGI) behind a node:http server
 * that answers 401 to any request without the expected `Authorization` header, as a forge does
 * for a private repository. Every request's Authorization header is recorded, so a test can tell
 * what reached this host.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const gitHttpBackend = '/usr/lib/git-core/git-http-backend';

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>` (repositories are `<url>/<name>.git`). */
  readonly url: string;
  /** Every request: its path and the Authorization header it carried. */
  readonly requests: { path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

/**
 * Serves the bare repositories under `projectRoot` (push allowed); `authorization`, when set, is
 * the one header value let through.
 */
export async function startGitHttpServer(projectRoot: string, authorization: string | undefined): Promise<GitHttpServer> {
  const requests: GitHttpServer['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ path: url.pathname, authorization: req.headers.authorization });
    if (authorization !== undefined && req.headers.authorization !== authorization) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' });
      res.end('credentials required\n');
      return;
    }
    runBackend(projectRoot, url, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function runBackend(projectRoot: string, url: URL, req: IncomingMessage, res: ServerResponse): void {
  const header = (name: string): string => String(req.headers[name] ?? '');
  const cgi = spawn(gitHttpBackend, [], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      // http-backend enables receive-pack only for an authenticated user.
      REMOTE_USER: 'tester',
      REMOTE_ADDR: '127.0.0.1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: header('content-type'),
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: header('content-length') } : {}),
      HTTP_CONTENT_ENCODING: header('content-encoding'),
      HTTP_GIT_PROTOCOL: header('git-protocol'),
      // For a server-side hook that tells what it was sent (the masking test).
      HTTP_AUTHORIZATION: header('authorization'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let headerDone = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headerDone) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const lf = head.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
    if (end < 0) return;
    const bodyStart = end + (end === crlf ? 4 : 2);
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    headerDone = true;
    res.writeHead(status, headers);
    res.write(head.subarray(bodyStart));
  });
  cgi.stdout.on('end', () => res.end());
  cgi.on('error', (error) => {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(error));
  });
}
