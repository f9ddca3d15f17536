/**
 * DATA_SOURCE=api: GET CONFIG_URL with `Authorization: Bearer CONFIG_TOKEN`, cached CONFIG_TTL seconds.
 * Accepts the original payload `{domains: [{id, domain, clients, trunks}], count}` and also the file shape
 * `{domains: {"<fqdn>": {...}}}`. API down / non-200 / garbage after a good load → the last good config is kept
 * and a warning is logged (never the token); the first load failing → typed error.
 */
import { createHash } from 'node:crypto';
import { ConfigError, ConfigValidationError, type ConfigIssue } from './errors.js';
import { BaseConfigSource, type Fetched, type Logger } from './source.js';
import type { NormalizeOptions } from './types.js';
import { normalizeConfig } from './validate.js';

export interface ApiConfigSourceOptions {
  /** CONFIG_URL */
  url: string;
  /** CONFIG_TOKEN */
  token?: string;
  /** CONFIG_TTL seconds, default 60. */
  ttlSeconds?: number;
  /** Request timeout, default 5000 ms. */
  timeoutMs?: number;
  /** Refresh in the background every TTL (timer unref'd), default true. Without it, get() refreshes lazily. */
  autoRefresh?: boolean;
  /** FILE_PATH for `file:` hooks, default process.cwd(). */
  filePath?: string;
  defaultCodecs?: NormalizeOptions['defaultCodecs'];
  /** Clock in ms (tests inject one), default Date.now. */
  now?: () => number;
  logger?: Logger;
}

/** Converts the API payload to the file shape; other shapes pass through untouched for the validator. */
export function apiPayloadToRaw(payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null) return payload;
  const p = payload as { domains?: unknown };
  if (!Array.isArray(p.domains)) return payload;
  const issues: ConfigIssue[] = [];
  const domains: Record<string, unknown> = {};
  p.domains.forEach((d, i) => {
    if (typeof d !== 'object' || d === null || typeof (d as { domain?: unknown }).domain !== 'string') {
      issues.push({ path: `domains[${i}].domain`, message: 'must be a domain name' });
      return;
    }
    const { id, domain, clients, trunks } = d as { id?: unknown; domain: string; clients?: unknown; trunks?: unknown };
    if (domain in domains) {
      issues.push({ path: `domains[${i}].domain`, message: 'duplicate domain' });
      return;
    }
    domains[domain] = { ...(id !== undefined ? { domain_id: id } : {}), clients: clients ?? [], trunks: trunks ?? [] };
  });
  if (issues.length) throw new ConfigValidationError(issues);
  return { domains };
}

/** The URL without credentials or query (for logs and error messages). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.origin + u.pathname;
  } catch {
    return '[invalid CONFIG_URL]';
  }
}

export class ApiConfigSource extends BaseConfigSource {
  readonly kind = 'api' as const;
  private readonly opts: ApiConfigSourceOptions;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private fetchedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: ApiConfigSourceOptions) {
    super(opts.logger);
    if (!opts.url) throw new ConfigError('DPBX_ERR_CONFIG_OPTIONS', 'api config source needs CONFIG_URL');
    try {
      const u = new URL(opts.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      throw new ConfigError('DPBX_ERR_CONFIG_OPTIONS', 'CONFIG_URL must be an http(s) URL');
    }
    this.opts = opts;
    this.ttlMs = Math.max(0, opts.ttlSeconds ?? 60) * 1000;
    this.now = opts.now ?? Date.now;
    if ((opts.autoRefresh ?? true) && this.ttlMs > 0) {
      this.timer = setInterval(() => void this.reload(), this.ttlMs);
      this.timer.unref();
    }
  }

  /** Cached for CONFIG_TTL; after that refreshed (a failed refresh serves the last good config). */
  override async get() {
    const cur = this.current();
    if (!cur) return this.load();
    if (this.now() - this.fetchedAt < this.ttlMs) return cur;
    const r = await this.reload();
    return r.config ?? cur;
  }

  protected async fetch(): Promise<Fetched> {
    // Counted as an attempt even when it fails, so a dead API is retried once per TTL, not on every get().
    this.fetchedAt = this.now();
    const where = safeUrl(this.opts.url);
    let res: Response;
    try {
      res = await fetch(this.opts.url, {
        headers: {
          accept: 'application/json',
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
        },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
    } catch (err) {
      const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new ConfigError('DPBX_ERR_CONFIG_LOAD', `config API ${where} unreachable (${reason})`);
    }
    const text = await res.text().catch(() => '');
    if (res.status !== 200) throw new ConfigError('DPBX_ERR_CONFIG_LOAD', `config API ${where} answered HTTP ${res.status}`);
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new ConfigError('DPBX_ERR_CONFIG_LOAD', `config API ${where} returned invalid JSON`);
    }
    const config = normalizeConfig(apiPayloadToRaw(payload), {
      filePath: this.opts.filePath ?? process.cwd(),
      ...(this.opts.defaultCodecs ? { defaultCodecs: this.opts.defaultCodecs } : {}),
    });
    return { config, fingerprint: createHash('sha256').update(text).digest('hex') };
  }

  override async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await super.close();
  }
}
