/**
 * Management HTTP API on WEBPORT (SPEC §7): JSON, bearer-token auth, domain-scoped paths.
 *
 * The server knows nothing of calls or registrations itself: it validates requests at the edge and asks an
 * `ApiBackend` (implemented by the PBX). A resource that belongs to another domain is simply not found by the
 * backend's domain-scoped lookups, so it answers 404 — never 403, which would confirm it exists.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseCallScript, CallScriptError, type CallScript } from '../script/index.js';
import type { Logger } from '../log.js';

export type Leg = 'A' | 'B';

/** Body of PUT /domains/:d/calls/:id — a new script to run now, or new hooks for the rest of the call. */
export type CallRedirect = { script: CallScript } | { callHook: string; statusHook?: string };

export interface CdrQuery {
  from?: Date;
  to?: Date;
  limit: number;
}

/** What the PBX provides to the API. Lookups are domain-scoped; undefined / false means "not found". */
export interface ApiBackend {
  health(): { status: 'ok' | 'draining'; [k: string]: unknown };
  metrics(): string;
  listDomains(): unknown[];
  getDomain(domain: string): unknown | undefined;
  listCalls(domain: string): unknown[] | undefined;
  getCall(domain: string, callId: string): unknown | undefined;
  hangupCall(domain: string, callId: string, leg?: Leg): Promise<boolean>;
  redirectCall(domain: string, callId: string, redirect: CallRedirect): Promise<boolean>;
  transferCall(domain: string, callId: string, target: string): Promise<boolean>;
  muteCall(domain: string, callId: string, leg: Leg, mute: boolean): Promise<boolean>;
  listRegistrations(domain: string): Promise<unknown[] | undefined>;
  getRegistration(domain: string, user: string): Promise<unknown | undefined>;
  listCdrs(domain: string, q: CdrQuery): Promise<unknown[] | undefined>;
  getLadder(callId: string): unknown | undefined;
  reload(): Promise<{ ok: boolean; error?: string }>;
  shutdown(): Promise<void>;
}

export interface ApiServerOptions {
  backend: ApiBackend;
  /** Bearer token; when absent the server must be bound to loopback (enforced by the options parser). */
  token?: string;
  host?: string;
  port?: number;
  logger?: Logger;
  /** Largest request body, bytes. Default 64 KiB. */
  maxBodyBytes?: number;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A backend throws this for an operation the PBX does not offer (yet): answered 501 with the message. */
export class ApiNotImplementedError extends HttpError {
  readonly code = 'DPBX_ERR_API_NOT_IMPLEMENTED';
  constructor(message: string) {
    super(501, message);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ApiServer {
  readonly counters = { requests: 0, unauthorized: 0, notFound: 0, badRequests: 0, errors: 0 };
  private readonly server: Server;
  private readonly backend: ApiBackend;
  private readonly tokenDigest: Buffer | undefined;
  private readonly logger: Logger | undefined;
  private readonly maxBodyBytes: number;

  constructor(private readonly opts: ApiServerOptions) {
    this.backend = opts.backend;
    this.tokenDigest = opts.token ? digest(opts.token) : undefined;
    this.logger = opts.logger;
    this.maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => this.fail(res, err));
    });
    this.server.keepAliveTimeout = 5000;
    this.server.headersTimeout = 10000;
    this.server.requestTimeout = 30000;
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 2999, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    return !!m && timingSafeEqual(digest(m[1]!), this.tokenDigest);
  }

  private send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
    const text = contentType === 'application/json' ? JSON.stringify(body) : String(body);
    res.writeHead(status, { 'content-type': contentType + '; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text);
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof HttpError) {
      if (err.status === 404) this.counters.notFound++;
      else if (err.status === 400 || err.status === 413) this.counters.badRequests++;
      if (!res.headersSent) this.send(res, err.status, { error: err.message });
      return;
    }
    this.counters.errors++;
    this.logger?.error({ err: String(err) }, 'management API request failed');
    if (!res.headersSent) this.send(res, 500, { error: 'internal error' });
    else res.destroy();
  }

  private async readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.maxBodyBytes) throw new HttpError(413, `body larger than ${this.maxBodyBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(400, 'body is not JSON');
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    const parts = url.pathname.split('/').filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw new HttpError(400, 'bad percent-encoding in path');
      }
    });
    const method = req.method ?? 'GET';
    const route = `${method} /${parts.map((p, i) => (isParam(parts, i) ? ':' : p)).join('/')}`;

    if (route === 'GET /health') return this.send(res, 200, this.backend.health());
    if (!this.authorized(req)) {
      this.counters.unauthorized++;
      res.setHeader('www-authenticate', 'Bearer realm="dragon-pbx"');
      return this.send(res, 401, { error: 'missing or wrong bearer token' });
    }
    const b = this.backend;
    const d = parts[1]!;
    const id = parts[3]!;
    const found = (v: unknown) => {
      if (v === undefined || v === false) throw new HttpError(404, 'not found');
      return v;
    };
    switch (route) {
      case 'GET /metrics':
        return this.send(res, 200, b.metrics(), 'text/plain; version=0.0.4');
      case 'GET /domains':
        return this.send(res, 200, b.listDomains());
      case 'GET /domains/:':
        return this.send(res, 200, found(b.getDomain(d)));
      case 'GET /domains/:/calls':
        return this.send(res, 200, found(b.listCalls(d)));
      case 'GET /domains/:/calls/:':
        return this.send(res, 200, found(b.getCall(d, id)));
      case 'DELETE /domains/:/calls/:': {
        const leg = url.searchParams.get('leg') ?? undefined;
        if (leg !== undefined && leg !== 'A' && leg !== 'B') throw new HttpError(400, 'leg must be A or B');
        found(await b.hangupCall(d, id, leg));
        return this.send(res, 200, { ok: true });
      }
      case 'PUT /domains/:/calls/:': {
        const redirect = parseRedirect(await this.readJson(req));
        found(await b.redirectCall(d, id, redirect));
        return this.send(res, 200, { ok: true });
      }
      case 'POST /domains/:/calls/:/transfer': {
        const body = await this.readJson(req);
        const target = (body as { target?: unknown } | undefined)?.target;
        if (typeof target !== 'string' || !target || /[\r\n\0\s]/.test(target) || target.length > 512) {
          throw new HttpError(400, 'target must be a user name or sip: URI');
        }
        found(await b.transferCall(d, id, target));
        return this.send(res, 202, { ok: true });
      }
      case 'POST /domains/:/calls/:/mute': {
        const body = (await this.readJson(req)) as { leg?: unknown; mute?: unknown } | undefined;
        if (body?.leg !== 'A' && body?.leg !== 'B') throw new HttpError(400, 'leg must be A or B');
        if (body.mute !== undefined && typeof body.mute !== 'boolean') throw new HttpError(400, 'mute must be true or false');
        found(await b.muteCall(d, id, body.leg, body.mute !== false));
        return this.send(res, 200, { ok: true });
      }
      case 'GET /domains/:/registrations':
        return this.send(res, 200, found(await b.listRegistrations(d)));
      case 'GET /domains/:/registrations/:':
        return this.send(res, 200, found(await b.getRegistration(d, id)));
      case 'GET /domains/:/cdrs':
        return this.send(res, 200, found(await b.listCdrs(d, parseCdrQuery(url.searchParams))));
      case 'GET /calls/:/ladder':
        return this.send(res, 200, found(b.getLadder(parts[1]!)));
      case 'POST /reload': {
        const r = await b.reload();
        return this.send(res, r.ok ? 200 : 422, r);
      }
      case 'POST /shutdown':
        this.send(res, 202, { ok: true, status: 'draining' });
        void b.shutdown().catch((err) => this.logger?.error({ err: String(err) }, 'shutdown failed'));
        return;
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }
}

/** Which path segments are parameters: /domains/:d/calls/:id/..., /domains/:d/registrations/:user, /calls/:id. */
function isParam(parts: string[], i: number): boolean {
  if (parts[0] === 'domains') return i === 1 || (i === 3 && (parts[2] === 'calls' || parts[2] === 'registrations'));
  if (parts[0] === 'calls') return i === 1;
  return false;
}

function parseRedirect(body: unknown): CallRedirect {
  if (Array.isArray(body)) {
    try {
      return { script: parseCallScript(body) };
    } catch (e) {
      if (e instanceof CallScriptError) throw new HttpError(400, e.message);
      throw e;
    }
  }
  const o = body as { callHook?: unknown; statusHook?: unknown } | undefined;
  const isHook = (v: unknown) => typeof v === 'string' && /^(https?:\/\/|file:)\S+$/i.test(v);
  if (o && isHook(o.callHook) && (o.statusHook === undefined || isHook(o.statusHook))) {
    const r: CallRedirect = { callHook: o.callHook as string };
    if (o.statusHook !== undefined) r.statusHook = o.statusHook as string;
    return r;
  }
  throw new HttpError(400, 'body must be a CallScript array or {callHook, statusHook?}');
}

function parseCdrQuery(q: URLSearchParams): CdrQuery {
  const date = (name: string) => {
    const v = q.get(name);
    if (v === null) return undefined;
    const d = /^\d+$/.test(v) ? new Date(Number(v) * 1000) : new Date(v);
    if (Number.isNaN(d.getTime())) throw new HttpError(400, `${name} must be an ISO date or unix seconds`);
    return d;
  };
  const limitRaw = q.get('limit');
  const limit = limitRaw === null ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new HttpError(400, 'limit must be 1..10000');
  const out: CdrQuery = { limit };
  const from = date('from');
  const to = date('to');
  if (from) out.from = from;
  if (to) out.to = to;
  return out;
}
