// The Firecracker API over HTTP/1.1 on a Unix socket (Node's http module).
// The HTTP layer only frames requests; api.ts answers them. Defences against
// the bugs Firecracker's own server had (ANCHORS "HTTP bugs"): a body larger
// than the payload limit is refused before it is read; a Content-Length the
// body never reaches gets a 400 after a timeout instead of hanging (FC
// #2017); a malformed or negative Content-Length is a 400, not a crash (FC
// #1977); every answer with a body carries its Content-Length (micro-http
// #48); chunked bodies are refused, as Firecracker refuses them (FC #1356).

import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { SeccompMode, VmConfig } from '../../vmm/config.js';
import { FirecrackerApi, fault, type ApiResponse } from './api.js';
import type { VmController } from './controller.js';
import { ApiSocketError } from './errors.js';
import { errnoCode } from '../../base/errors.js';

/** Firecracker's default --http-api-max-payload-size, in bytes. */
export const DEFAULT_MAX_PAYLOAD = 51200;
/** How long a request may take to arrive whole once its headers are in. */
export const DEFAULT_BODY_TIMEOUT_MS = 5000;
/** Firecracker's default --id. */
export const DEFAULT_INSTANCE_ID = 'anonymous-instance';
/** The socket file's mode: only the owner may connect (connect(2) needs write permission). */
export const SOCKET_MODE = 0o600;
/** umask while the socket is bound, so it is never reachable with wider permissions. */
const SOCKET_UMASK = 0o177;
/** Node's check for timed-out requests runs at most this often. */
const MAX_TIMEOUT_CHECK_MS = 1000;

const STATUS_TEXT: Readonly<Record<number, string>> = { 200: 'OK', 204: 'No Content', 400: 'Bad Request', 413: 'Payload Too Large' };

export interface ApiServerOptions {
  readonly socketPath: string;
  readonly controller: VmController;
  /** One line for the user per notice (pci=off dropped, ...). */
  readonly log: (line: string) => void;
  /** GET / id; default "anonymous-instance" as Firecracker's. */
  readonly id?: string;
  /** The CLI's --seccomp, copied into the VmConfig given to controller.start(); default 'off'. */
  readonly seccomp?: SeccompMode;
  /** Largest request body in bytes (Firecracker's --http-api-max-payload-size); default 51200. */
  readonly maxPayload?: number;
  /** Time a request's body has to arrive, in ms; default 5000. */
  readonly bodyTimeoutMs?: number;
  /** The VM was booted from --config-file with this config: only post-boot calls remain. */
  readonly bootedConfig?: VmConfig;
  /** Defaults to tsvmm's package version. */
  readonly vmmVersion?: string;
  /** Defaults to os.totalmem(), read when the server starts. */
  readonly hostMemoryBytes?: number;
}

export interface ApiServer {
  readonly socketPath: string;
  /** Stops serving, drops open connections and removes the socket file. */
  close(): Promise<void>;
}

/** tsvmm's version from package.json (read once, before any seccomp seal). */
export function tsvmmVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Creates the socket (mode 0600; the path must not exist, as in Firecracker)
 * and serves the API on it. Rejects with ApiSocketError when the socket
 * cannot be created. Everything that opens a file or asks the kernel for a
 * host fact happens before this resolves, so a seccomp seal may follow.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const api = new FirecrackerApi({
    controller: options.controller,
    id: options.id ?? DEFAULT_INSTANCE_ID,
    vmmVersion: options.vmmVersion ?? tsvmmVersion(),
    seccomp: options.seccomp ?? 'off',
    limits: { hostMemoryBytes: options.hostMemoryBytes ?? totalmem() },
    log: options.log,
    ...(options.bootedConfig !== undefined && { bootedConfig: options.bootedConfig }),
  });
  const server = createServer({
    // Backstops behind the body timer below: Node answers 408 and closes.
    headersTimeout: bodyTimeoutMs,
    requestTimeout: 2 * bodyTimeoutMs,
    connectionsCheckingInterval: Math.min(MAX_TIMEOUT_CHECK_MS, bodyTimeoutMs),
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    serve(api, req, res, maxPayload, bodyTimeoutMs);
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    // Malformed request line or headers (a negative Content-Length, ...).
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const message = `Malformed HTTP request: ${err.code ?? err.message}`;
    socket.end(rawResponse(fault(message)));
  });
  await listen(server, options.socketPath);
  return {
    socketPath: options.socketPath,
    close: () => closeServer(server),
  };
}

async function listen(server: Server, path: string): Promise<void> {
  const previous = process.umask(SOCKET_UMASK);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EADDRINUSE') {
      throw new ApiSocketError(`API socket ${path} already exists: remove it or choose another --api-sock path`, path, code, { cause: err });
    }
    // libuv reports a missing directory as EACCES (uv_pipe_bind maps ENOENT to it).
    const dir = dirname(path);
    if ((code === 'EACCES' || code === 'ENOENT') && !existsSync(dir)) {
      throw new ApiSocketError(`cannot create the API socket ${path}: directory ${dir} does not exist`, path, 'ENOENT', { cause: err });
    }
    throw new ApiSocketError(`cannot create the API socket ${path}: ${code ?? (err as Error).message}`, path, code, { cause: err });
  } finally {
    process.umask(previous);
  }
  // Already 0600 through the umask; the chmod states it for file systems that ignore it.
  chmodSync(path, SOCKET_MODE);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // libuv unlinks the socket file when the listening handle closes.
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function serve(api: FirecrackerApi, req: IncomingMessage, res: ServerResponse, maxPayload: number, bodyTimeoutMs: number): void {
  res.setHeader('Server', 'tsvmm API');
  // No Date header (Firecracker sends none): formatting it loads the time
  // zone from /etc/localtime, a file a sealed process may not open.
  res.sendDate = false;
  const refuse = (message: string): void => {
    // The rest of the body is not read: the connection cannot carry another request.
    res.setHeader('Connection', 'close');
    send(res, fault(message));
    req.socket.destroySoon();
  };
  if (req.headers['transfer-encoding'] !== undefined) {
    refuse(`Transfer-Encoding ${req.headers['transfer-encoding']} is not supported: send the body with a Content-Length`);
    return;
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > maxPayload) {
    refuse(`Request payload with size ${length} is larger than the limit of ${maxPayload} allowed by server.`);
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  const timer = setTimeout(() => {
    refuse(`The request body did not arrive: ${received} of ${length} bytes after ${bodyTimeoutMs} ms`);
  }, bodyTimeoutMs);
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    chunks.push(chunk);
  });
  // A client that goes away mid-body leaves nothing to answer.
  req.on('close', () => clearTimeout(timer));
  req.on('end', () => {
    clearTimeout(timer);
    if (res.headersSent) return;
    let body: string | undefined;
    try {
      body = received === 0 ? undefined : new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      send(res, fault(`${req.method} ${req.url}: the body is not UTF-8 text`));
      return;
    }
    const path = originForm(req.url ?? '/');
    void api.handle({ method: req.method ?? '', path, body }).then((answer) => send(res, answer));
  });
}

/** The path of an origin-form or absolute-form request target. */
function originForm(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

function send(res: ServerResponse, answer: ApiResponse): void {
  if (res.headersSent || res.destroyed) return;
  if (answer.body === undefined) {
    res.writeHead(answer.status);
    res.end();
    return;
  }
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A whole HTTP response as text, for a socket with no ServerResponse (clientError). */
function rawResponse(answer: ApiResponse): string {
  const text = JSON.stringify(answer.body ?? {});
  return (
    `HTTP/1.1 ${answer.status} ${STATUS_TEXT[answer.status] ?? ''}\r\n` +
    'Server: tsvmm API\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  );
}
