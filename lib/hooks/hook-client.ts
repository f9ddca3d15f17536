/**
 * The one way Dragon PBX talks to the user's application: RegHook, CallHook and StatusHook calls (SPEC §3).
 *
 * A hook target is an http(s) URL (POST JSON, `Content-Type: application/json`, timeout, optional
 * X-Dragon-Signature), a `file:NAME` path resolved against FILE_PATH (a JSON file, see file-script.ts), or — for
 * library users — a function that receives the body and returns the reply.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { HookError } from './errors.js';
import { evaluateFileScript, type TemplateContext } from './file-script.js';
import { SIGNATURE_HEADER, signHookBody } from './signature.js';

export type HookKind = 'reghook' | 'callhook' | 'statushook';

/** In-process hook: returns the reply body (or a `hookReply(status, body)` to answer with a status). */
export type HookFunction = (body: Record<string, unknown>, info: { kind: HookKind }) => unknown;
export type HookTarget = string | HookFunction;

const STATUS_REPLY = Symbol('dragon-pbx.hookReply');

/** What a function hook returns to answer with a non-200 status, as an HTTP application would. */
export function hookReply(status: number, body?: unknown): unknown {
  return { [STATUS_REPLY]: true, status, body };
}

export interface HookReply {
  /** HTTP status (200 for file: and function hooks unless they used hookReply). Always 2xx here. */
  status: number;
  /** The parsed JSON reply. */
  body: unknown;
}

export interface HookLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface HookClientOptions {
  /** Per-call timeout in ms (SPEC §3: default 3 s). */
  timeoutMs?: number;
  /** When set, every HTTP hook request carries X-Dragon-Signature. */
  secret?: string;
  /** Folder `file:` hooks resolve against (FILE_PATH). Default: the process's working directory. */
  filePath?: string;
  logger?: HookLogger;
  /** Clock for file-script date/time helpers and signatures (tests). */
  now?: () => Date;
  /** Largest accepted reply body in bytes. Default 1 MiB. */
  maxReplyBytes?: number;
}

export interface HookCounters {
  requests: number;
  ok: number;
  timeouts: number;
  unreachable: number;
  badStatus: number;
  badJson: number;
  fileErrors: number;
  functionErrors: number;
  redactedFields: number;
}

/** Field names that must never leave the PBX in a hook body, whatever the caller put there. */
const SECRET_KEYS = new Set(['password', 'secret', 'token', 'ha1', 'api_token', 'apitoken']);

interface CachedFile {
  mtimeMs: number;
  checkedAt: number;
  content: unknown;
}

export class HookClient {
  readonly counters: HookCounters = {
    requests: 0,
    ok: 0,
    timeouts: 0,
    unreachable: 0,
    badStatus: 0,
    badJson: 0,
    fileErrors: 0,
    functionErrors: 0,
    redactedFields: 0,
  };

  private readonly timeoutMs: number;
  private readonly secret: string | undefined;
  private readonly filePath: string;
  private readonly logger: HookLogger | undefined;
  private readonly now: () => Date;
  private readonly maxReplyBytes: number;
  private readonly fileCache = new Map<string, CachedFile>();

  constructor(opts: HookClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 3000;
    if (!(this.timeoutMs > 0)) throw new TypeError('HookClient: timeoutMs must be > 0');
    this.secret = opts.secret || undefined;
    this.filePath = opts.filePath ?? process.cwd();
    this.logger = opts.logger;
    this.now = opts.now ?? (() => new Date());
    this.maxReplyBytes = opts.maxReplyBytes ?? 1 << 20;
  }

  /**
   * Call a hook. Resolves with the 2xx reply; rejects with a HookError (timeout, unreachable, non-2xx status,
   * invalid JSON, unreadable file, throwing function). Never rejects with anything else.
   */
  async call(kind: HookKind, target: HookTarget, body: Record<string, unknown>): Promise<HookReply> {
    this.counters.requests++;
    const safeBody = this.redact(body);
    try {
      let reply: HookReply;
      if (typeof target === 'function') reply = await this.callFunction(kind, target, safeBody);
      else if (target.startsWith('file:')) reply = await this.callFile(target, safeBody);
      else if (/^https?:\/\//i.test(target)) reply = await this.callHttp(kind, target, safeBody);
      else throw new HookError('DPBX_ERR_HOOK_TARGET', `not a hook target: ${describeTarget(target)}`);
      this.counters.ok++;
      return reply;
    } catch (err) {
      const e = err instanceof HookError ? err : new HookError('DPBX_ERR_HOOK_UNREACHABLE', String(err));
      this.count(e);
      this.logger?.warn({ kind, target: describeTarget(target), code: e.code, status: e.httpStatus }, e.message);
      throw e;
    }
  }

  private count(e: HookError): void {
    switch (e.code) {
      case 'DPBX_ERR_HOOK_TIMEOUT': this.counters.timeouts++; break;
      case 'DPBX_ERR_HOOK_STATUS': this.counters.badStatus++; break;
      case 'DPBX_ERR_HOOK_BAD_JSON': this.counters.badJson++; break;
      case 'DPBX_ERR_HOOK_FILE':
      case 'DPBX_ERR_HOOK_TEMPLATE': this.counters.fileErrors++; break;
      case 'DPBX_ERR_HOOK_FUNCTION': this.counters.functionErrors++; break;
      default: this.counters.unreachable++;
    }
  }

  /** Deep copy of the body without secret-named fields (defence in depth: callers should not put them there). */
  private redact(body: Record<string, unknown>): Record<string, unknown> {
    const walk = (v: unknown, depth: number): unknown => {
      if (depth > 32 || v === null || typeof v !== 'object') return v;
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (SECRET_KEYS.has(k.toLowerCase())) {
          this.counters.redactedFields++;
          continue;
        }
        out[k] = walk(x, depth + 1);
      }
      return out;
    };
    return walk(body, 0) as Record<string, unknown>;
  }

  private async callFunction(kind: HookKind, fn: HookFunction, body: Record<string, unknown>): Promise<HookReply> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new HookError('DPBX_ERR_HOOK_TIMEOUT', `function hook did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    let result: unknown;
    try {
      result = await Promise.race([
        Promise.resolve().then(() => fn(body, { kind })),
        timeout,
      ]);
    } catch (err) {
      if (err instanceof HookError) throw err;
      throw new HookError('DPBX_ERR_HOOK_FUNCTION', `function hook threw: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      clearTimeout(timer);
    }
    if (result !== null && typeof result === 'object' && (result as Record<symbol, unknown>)[STATUS_REPLY]) {
      const r = result as { status: number; body: unknown };
      if (r.status < 200 || r.status > 299) {
        throw new HookError('DPBX_ERR_HOOK_STATUS', `function hook answered ${r.status}`, r.status);
      }
      return { status: r.status, body: r.body };
    }
    return { status: 200, body: result };
  }

  private async callFile(target: string, body: Record<string, unknown>): Promise<HookReply> {
    const name = target.slice('file:'.length);
    if (!name) throw new HookError('DPBX_ERR_HOOK_TARGET', 'file: hook without a file name');
    const path = isAbsolute(name) ? name : resolve(this.filePath, name);
    const content = await this.readJsonFile(path, name);
    const ctx: TemplateContext = {
      from: str(body.from),
      to: str(body.to),
      domain: str(body.domain),
      callId: str(body.callId),
      source: str(body.source),
      count: typeof body.count === 'number' ? body.count : 0,
      now: this.now(),
    };
    return { status: 200, body: evaluateFileScript(content, ctx) };
  }

  /** Parsed JSON of a hook file, re-read when its mtime changes (checked at most once a second). */
  private async readJsonFile(path: string, name: string): Promise<unknown> {
    const cached = this.fileCache.get(path);
    const nowMs = Date.now();
    if (cached && nowMs - cached.checkedAt < 1000) return cached.content;
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(path)).mtimeMs;
    } catch {
      this.fileCache.delete(path);
      throw new HookError('DPBX_ERR_HOOK_FILE', `hook file "${name}" not found`);
    }
    if (cached && cached.mtimeMs === mtimeMs) {
      cached.checkedAt = nowMs;
      return cached.content;
    }
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new HookError('DPBX_ERR_HOOK_FILE', `hook file "${name}" unreadable: ${(err as Error).message}`);
    }
    let content: unknown;
    try {
      content = JSON.parse(text);
    } catch (err) {
      throw new HookError('DPBX_ERR_HOOK_BAD_JSON', `hook file "${name}" is not JSON: ${(err as Error).message}`);
    }
    this.fileCache.set(path, { mtimeMs, checkedAt: nowMs, content });
    return content;
  }

  private async callHttp(kind: HookKind, url: string, body: Record<string, unknown>): Promise<HookReply> {
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'dragon-pbx',
      'x-dragon-hook': kind,
    };
    if (this.secret) {
      headers[SIGNATURE_HEADER.toLowerCase()] = signHookBody(this.secret, payload, Math.floor(this.now().getTime() / 1000));
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.timeoutMs);
    try {
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers, body: payload, signal: ac.signal, redirect: 'error' });
      } catch (err) {
        if (ac.signal.aborted) {
          throw new HookError('DPBX_ERR_HOOK_TIMEOUT', `no answer within ${this.timeoutMs} ms`);
        }
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new HookError('DPBX_ERR_HOOK_UNREACHABLE', `unreachable (${cause})`);
      }
      let text: string;
      try {
        text = await readLimited(res, this.maxReplyBytes);
      } catch (err) {
        if (ac.signal.aborted) throw new HookError('DPBX_ERR_HOOK_TIMEOUT', `reply not complete within ${this.timeoutMs} ms`);
        if (err instanceof HookError) throw err;
        throw new HookError('DPBX_ERR_HOOK_UNREACHABLE', `reply broken off: ${(err as Error).message}`);
      }
      if (res.status < 200 || res.status > 299) {
        throw new HookError('DPBX_ERR_HOOK_STATUS', `answered HTTP ${res.status}`, res.status);
      }
      if (text.trim() === '') return { status: res.status, body: undefined };
      try {
        return { status: res.status, body: JSON.parse(text) };
      } catch {
        throw new HookError('DPBX_ERR_HOOK_BAD_JSON', `reply is not JSON (${text.length} bytes)`);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readLimited(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) throw new HookError('DPBX_ERR_HOOK_BAD_JSON', `reply larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A hook target for logs: URLs without userinfo or query (they may hold credentials), functions by name. */
export function describeTarget(target: HookTarget): string {
  if (typeof target === 'function') return `function ${target.name || '(anonymous)'}`;
  if (target.startsWith('file:')) return target;
  try {
    const u = new URL(target);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid target)';
  }
}
