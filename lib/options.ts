/**
 * Server options: the environment variables of SPEC §1 (names and defaults are the contract), parsed and
 * validated in one place. `createPbx()` takes the same options in camelCase; the binary builds them from
 * `process.env` with `optionsFromEnv()`. A bad value is an OptionsError naming the variable, which the binary
 * prints in one line before exiting with status 2.
 */
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export type DataSource = 'json' | 'api' | 'pg';

export interface PbxOptions {
  sipHost: string;
  sipPort: number;
  /** TLS listener port; TLS starts only when tlsCert and tlsKey are given. */
  sipTlsPort: number;
  tlsCert?: string;
  tlsKey?: string;
  rtpPortMin: number;
  rtpPortMax: number;
  publicIp: string;
  redisUrl?: string;
  dataSource: DataSource;
  configFile: string;
  configUrl?: string;
  configToken?: string;
  configTtl: number;
  databaseUrl?: string;
  defaultCodecs: string[];
  defaultRingtone: string;
  mediaPath: string;
  filePath: string;
  logLevel: LogLevel;
  webPort: number;
  webHost: string;
  apiToken?: string;
  registrationMinSecs: number;
  registrationMaxSecs: number;
  /** Secret for X-Dragon-Signature on hook requests. */
  hookSecret?: string;
  /** Hook timeout in ms (SPEC §3 default 3 s). */
  hookTimeoutMs: number;
  /**
   * Digest algorithms challenged, one WWW-Authenticate each, in this order (DIGEST_ALGORITHMS). Default MD5 first:
   * many phones (and sipp 3.6) take the first challenge and fail on SHA-256 instead of skipping it.
   */
  digestAlgorithms: Array<'MD5' | 'SHA-256'>;
  /** CALLHOOK_FALLBACK: a second CallHook (http(s) URL or `file:NAME`) asked when the dialplan's CallHook fails. */
  callHookFallback?: string;
  /** CALL_FALLBACK_CODE: the final response when no script answers the call (SPEC §3/§4). Default 480. */
  callFallbackCode: number;
}

export class OptionsError extends Error {
  readonly code = 'DPBX_ERR_OPTIONS';
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'OptionsError';
  }
}

/** The package's root folder (where package.json is), from dist/lib or lib. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** The bundled example config, used when no config source is configured (SPEC §1 embedded default). */
export function bundledConfigFile(): string {
  return join(packageRoot(), 'examples', 'config.json');
}

/** The bundled media folder (ringback tones), the default MEDIA_PATH. */
export function bundledMediaPath(): string {
  return join(packageRoot(), 'media', 'sounds');
}

/** First non-internal IPv4 address of this host, else 127.0.0.1. */
export function firstNonLoopbackAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (!a.internal && a.family === 'IPv4') return a.address;
    }
  }
  return '127.0.0.1';
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

const CODEC_NAMES: Record<string, string> = {
  g722: 'G722', pcma: 'PCMA', pcmu: 'PCMU', opus: 'opus', gsm: 'GSM', amr: 'AMR', 'amr-wb': 'AMR-WB',
};

/** DEFAULT_CODECS: a comma list, order = preference, canonical SDP names (SPEC §8: the env string IS parsed). */
export function parseCodecList(value: string, variable = 'DEFAULT_CODECS'): string[] {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const name = raw.trim();
    if (!name) continue;
    const canonical = CODEC_NAMES[name.toLowerCase()];
    if (!canonical) throw new OptionsError(variable, `unknown codec "${name}" (known: ${Object.values(CODEC_NAMES).join(', ')})`);
    if (!out.includes(canonical)) out.push(canonical);
  }
  if (out.length === 0) throw new OptionsError(variable, 'must name at least one codec');
  return out;
}

/** DIGEST_ALGORITHMS: a comma list of MD5 and SHA-256, order = the order of the challenges. */
export function parseDigestAlgorithms(value: string): Array<'MD5' | 'SHA-256'> {
  const out: Array<'MD5' | 'SHA-256'> = [];
  for (const raw of value.split(',')) {
    const v = raw.trim().toUpperCase();
    if (!v) continue;
    const alg = v === 'MD5' ? 'MD5' : v === 'SHA-256' || v === 'SHA256' ? 'SHA-256' : undefined;
    if (!alg) throw new OptionsError('DIGEST_ALGORITHMS', `unknown algorithm "${raw.trim()}" (known: MD5, SHA-256)`);
    if (!out.includes(alg)) out.push(alg);
  }
  if (out.length === 0) throw new OptionsError('DIGEST_ALGORITHMS', 'must name at least one algorithm');
  return out;
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, dflt: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new OptionsError(name, `"${v}" is not a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new OptionsError(name, `${n} is outside ${min}..${max}`);
  return n;
}

function host(env: Env, name: string, dflt: string): string {
  const v = str(env, name) ?? dflt;
  if (!isIP(v) && v !== 'localhost') throw new OptionsError(name, `"${v}" is not an IP address`);
  return v;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new OptionsError(name, 'is not a URL');
  }
  if (!protocols.includes(u.protocol)) throw new OptionsError(name, `must be a ${protocols.join(' or ')} URL`);
  return v;
}

export interface ParsedEnv {
  options: PbxOptions;
  /** One line per ignored legacy variable group, to be logged as a warning. */
  warnings: string[];
}

/** Build options from environment variables; throws OptionsError on the first bad value. */
export function optionsFromEnv(env: Env = process.env, cwd = process.cwd()): ParsedEnv {
  const warnings: string[] = [];
  const legacy = Object.keys(env).filter((k) => /^(DRACHTIO|RTPENGINE)_/.test(k));
  if (legacy.length) {
    warnings.push(`ignoring ${legacy.sort().join(', ')}: Dragon PBX has its own SIP stack and media relay`);
  }

  const dataSource = (str(env, 'DATA_SOURCE') ?? 'json').toLowerCase();
  if (dataSource !== 'json' && dataSource !== 'api' && dataSource !== 'pg') {
    throw new OptionsError('DATA_SOURCE', `"${dataSource}" is not one of json, api, pg`);
  }
  const explicitConfig = str(env, 'CONFIG_FILE');
  const localConfig = resolve(cwd, 'config.json');
  const configFile = explicitConfig
    ? resolve(cwd, explicitConfig)
    : existsSync(localConfig) ? localConfig : bundledConfigFile();

  const logLevel = (str(env, 'LOGLEVEL') ?? 'info').toLowerCase();
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new OptionsError('LOGLEVEL', `"${logLevel}" is not one of trace, debug, info, warn, error`);
  }

  const rtpPortMin = int(env, 'RTP_PORT_MIN', 10000, 1024, 65534);
  const rtpPortMax = int(env, 'RTP_PORT_MAX', 20000, 1025, 65535);
  if (rtpPortMax - rtpPortMin < 3) throw new OptionsError('RTP_PORT_MAX', `must be at least RTP_PORT_MIN + 3 (${rtpPortMin + 3})`);

  const registrationMinSecs = int(env, 'REGISTRATION_MIN_SECS', 30, 1, 86400);
  const registrationMaxSecs = int(env, 'REGISTRATION_MAX_SECS', 3600, 1, 86400 * 7);
  if (registrationMaxSecs < registrationMinSecs) {
    throw new OptionsError('REGISTRATION_MAX_SECS', `must not be below REGISTRATION_MIN_SECS (${registrationMinSecs})`);
  }

  const apiToken = str(env, 'API_TOKEN');
  const webHost = host(env, 'WEB_HOST', apiToken ? '0.0.0.0' : '127.0.0.1');
  if (!apiToken && !isLoopback(webHost)) {
    throw new OptionsError('API_TOKEN', `is required when the management API listens on ${webHost} (not loopback)`);
  }

  const tlsCert = str(env, 'SIP_TLS_CERT');
  const tlsKey = str(env, 'SIP_TLS_KEY');
  if (!!tlsCert !== !!tlsKey) throw new OptionsError(tlsCert ? 'SIP_TLS_KEY' : 'SIP_TLS_CERT', 'TLS needs both SIP_TLS_CERT and SIP_TLS_KEY');

  const options: PbxOptions = {
    sipHost: host(env, 'SIP_HOST', '0.0.0.0'),
    sipPort: int(env, 'SIP_PORT', 5060, 0, 65535),
    sipTlsPort: int(env, 'SIP_TLS_PORT', 5061, 0, 65535),
    rtpPortMin,
    rtpPortMax,
    publicIp: host(env, 'PUBLIC_IP', firstNonLoopbackAddress()),
    dataSource,
    configFile,
    configTtl: int(env, 'CONFIG_TTL', 60, 1, 86400),
    defaultCodecs: parseCodecList(str(env, 'DEFAULT_CODECS') ?? 'G722,PCMA,PCMU'),
    defaultRingtone: str(env, 'DEFAULT_RINGTONE') ?? 'file:/uk.wav',
    mediaPath: resolve(cwd, str(env, 'MEDIA_PATH') ?? bundledMediaPath()),
    filePath: resolve(cwd, str(env, 'FILE_PATH') ?? dirname(configFile)),
    logLevel: logLevel as LogLevel,
    webPort: int(env, 'WEBPORT', 2999, 0, 65535),
    webHost,
    registrationMinSecs,
    registrationMaxSecs,
    hookTimeoutMs: int(env, 'HOOK_TIMEOUT_MS', 3000, 100, 60000),
    digestAlgorithms: parseDigestAlgorithms(str(env, 'DIGEST_ALGORITHMS') ?? 'MD5,SHA-256'),
    callFallbackCode: int(env, 'CALL_FALLBACK_CODE', 480, 300, 699),
  };
  const fallbackHook = str(env, 'CALLHOOK_FALLBACK');
  if (fallbackHook) {
    if (!/^file:./.test(fallbackHook)) url(env, 'CALLHOOK_FALLBACK', ['http:', 'https:']);
    options.callHookFallback = fallbackHook;
  }
  if (tlsCert) options.tlsCert = resolve(cwd, tlsCert);
  if (tlsKey) options.tlsKey = resolve(cwd, tlsKey);
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  if (redisUrl) options.redisUrl = redisUrl;
  const configUrl = url(env, 'CONFIG_URL', ['http:', 'https:']);
  if (configUrl) options.configUrl = configUrl;
  const configToken = str(env, 'CONFIG_TOKEN');
  if (configToken) options.configToken = configToken;
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  if (databaseUrl) options.databaseUrl = databaseUrl;
  if (apiToken) options.apiToken = apiToken;
  const hookSecret = str(env, 'HOOK_SECRET');
  if (hookSecret) options.hookSecret = hookSecret;

  if (dataSource === 'api' && !options.configUrl) throw new OptionsError('CONFIG_URL', 'is required when DATA_SOURCE=api');
  if (dataSource === 'pg' && !options.databaseUrl) throw new OptionsError('DATABASE_URL', 'is required when DATA_SOURCE=pg');
  return { options, warnings };
}

/** Options safe to log or return from the API: secrets replaced by "(set)". */
export function redactOptions(o: PbxOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { ...o };
  for (const k of ['configToken', 'apiToken', 'hookSecret'] as const) if (o[k]) out[k] = '(set)';
  for (const k of ['redisUrl', 'databaseUrl'] as const) {
    const v = o[k];
    if (v) {
      try {
        const u = new URL(v);
        if (u.password) u.password = '***';
        out[k] = u.toString();
      } catch {
        out[k] = '(set)';
      }
    }
  }
  return out;
}
