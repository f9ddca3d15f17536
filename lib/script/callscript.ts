/**
 * CallScript validation (SPEC §4): a CallHook's reply is untrusted input. It is checked here, at the edge, and
 * turned into typed verbs with defaults filled in; anything wrong is a CallScriptError whose message names the
 * path of the offending field (e.g. `[0].dest[1].timeout: must be a number from 1 to 3600`).
 *
 * Accepted shapes for one verb (both normalise to the first):
 *   {"verb": "connect", "dest": ...}        and        {"connect": {"dest": ...}}
 * A reply may be the array itself or an object `{"script": [...]}` / `{"verbs": [...]}`.
 */

export class CallScriptError extends Error {
  readonly code = 'DPBX_ERR_CALLSCRIPT_INVALID';
  constructor(readonly path: string, problem: string) {
    super(`${path || 'script'}: ${problem}`);
    this.name = 'CallScriptError';
  }
}

export type DestType = 'client' | 'trunk' | 'sip';

export interface Dest {
  type: DestType;
  /** client: username (or user@domain of the same domain); trunk: the number to dial; sip: a sip:/sips: URI. */
  address: string;
  /** Seconds this destination may ring. Default 30. */
  timeout: number;
  headers?: Record<string, string>;
  trunk_id?: number | string;
  trunk_name?: string;
  /** Credentials for a `sip` destination that challenges (never sent to any hook). */
  username?: string;
  password?: string;
  codecs?: string[];
}

/** `statusLabel`: a label attached to this verb's StatusHook events, or `false` to send none for this verb. */
export type StatusLabel = string | false | undefined;

export interface ConnectVerb {
  verb: 'connect';
  dest: Dest[];
  reconnect?: boolean;
  callerId?: string;
  callerName?: string;
  ringtone?: string;
  statusLabel?: StatusLabel;
}
export interface AnnounceVerb {
  verb: 'announce';
  url: string;
  statusLabel?: StatusLabel;
}
export interface ResponseVerb {
  verb: 'response';
  code: number;
  reason?: string;
  headers?: Record<string, string>;
  statusLabel?: StatusLabel;
}
export interface PauseVerb {
  verb: 'pause';
  /** Seconds. */
  duration: number;
  statusLabel?: StatusLabel;
}
export type Verb = ConnectVerb | AnnounceVerb | ResponseVerb | PauseVerb;
export type CallScript = Verb[];

const VERBS = ['connect', 'announce', 'response', 'pause'] as const;
const MAX_VERBS = 100;
const MAX_DESTS = 64;
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
// Headers the B2BUA owns: a script may not set them (they would break the dialog or transaction).
const RESERVED_HEADERS = new Set([
  'via', 'v', 'from', 'f', 'to', 't', 'call-id', 'i', 'cseq', 'contact', 'm', 'max-forwards', 'content-length', 'l',
  'content-type', 'c', 'record-route', 'route', 'authorization', 'proxy-authorization', 'www-authenticate',
  'proxy-authenticate',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function fail(path: string, problem: string): never {
  throw new CallScriptError(path, problem);
}

function onlyKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${path}.${k}`, 'unknown field');
}

function optString(o: Obj, key: string, path: string, max = 1024): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`${path}.${key}`, 'must be a string');
  if (v.length > max) fail(`${path}.${key}`, `longer than ${max} characters`);
  if (/[\r\n\0]/.test(v)) fail(`${path}.${key}`, 'must not contain CR, LF or NUL');
  return v;
}

function reqString(o: Obj, key: string, path: string, max = 1024): string {
  const v = optString(o, key, path, max);
  if (v === undefined || v === '') fail(`${path}.${key}`, 'is required');
  return v;
}

function number(o: Obj, key: string, path: string, min: number, max: number, dflt?: number): number {
  const v = o[key];
  if (v === undefined || v === null) {
    if (dflt === undefined) fail(`${path}.${key}`, 'is required');
    return dflt;
  }
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    fail(`${path}.${key}`, `must be a number from ${min} to ${max}`);
  }
  return n;
}

function optBool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail(`${path}.${key}`, 'must be true or false');
  return v;
}

function statusLabel(o: Obj, path: string): StatusLabel {
  const v = o.statusLabel;
  if (v === undefined || v === null) return undefined;
  if (v === false) return false;
  if (typeof v === 'string' && v.length <= 256 && !/[\r\n\0]/.test(v)) return v;
  fail(`${path}.statusLabel`, 'must be a string (up to 256 characters) or false');
}

/** Extra SIP headers: token names, single-line values, none of the headers the B2BUA owns. */
function headers(o: Obj, key: string, path: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail(`${path}.${key}`, 'must be an object of header name → value');
  const out: Record<string, string> = {};
  const entries = Object.entries(v);
  if (entries.length > 32) fail(`${path}.${key}`, 'more than 32 headers');
  for (const [name, value] of entries) {
    const p = `${path}.${key}["${name}"]`;
    if (!TOKEN.test(name)) fail(p, 'not a valid header name');
    if (RESERVED_HEADERS.has(name.toLowerCase())) fail(p, 'header is managed by the PBX and cannot be set');
    if (typeof value !== 'string' && typeof value !== 'number') fail(p, 'must be a string');
    const s = String(value);
    if (/[\r\n\0]/.test(s)) fail(p, 'must not contain CR, LF or NUL');
    if (s.length > 2048) fail(p, 'longer than 2048 characters');
    out[name] = s;
  }
  return out;
}

function codecs(o: Obj, path: string): string[] | undefined {
  const v = o.codecs;
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((c) => typeof c === 'string' && TOKEN.test(c))) {
    fail(`${path}.codecs`, 'must be a non-empty list of codec names');
  }
  return list as string[];
}

function dest(v: unknown, path: string): Dest {
  if (typeof v === 'string') v = { type: v.startsWith('sip:') || v.startsWith('sips:') ? 'sip' : 'client', address: v };
  if (!isObj(v)) fail(path, 'must be an object {type, address, ...}');
  onlyKeys(v, ['type', 'address', 'timeout', 'headers', 'trunk_id', 'trunk_name', 'username', 'password', 'codecs'], path);
  const type = v.type;
  if (type !== 'client' && type !== 'trunk' && type !== 'sip') fail(`${path}.type`, 'must be "client", "trunk" or "sip"');
  const address = reqString(v, 'address', path, 512);
  if (type === 'sip' && !/^sips?:[^\s]+$/i.test(address)) fail(`${path}.address`, 'must be a sip: or sips: URI');
  const d: Dest = { type, address, timeout: number(v, 'timeout', path, 1, 3600, 30) };
  const h = headers(v, 'headers', path);
  if (h) d.headers = h;
  if (v.trunk_id !== undefined && v.trunk_id !== null) {
    if (typeof v.trunk_id !== 'number' && typeof v.trunk_id !== 'string') fail(`${path}.trunk_id`, 'must be a number or string');
    d.trunk_id = v.trunk_id;
  }
  const tn = optString(v, 'trunk_name', path, 256);
  if (tn !== undefined) d.trunk_name = tn;
  const user = optString(v, 'username', path, 256);
  if (user !== undefined) d.username = user;
  const pw = optString(v, 'password', path, 256);
  if (pw !== undefined) d.password = pw;
  const c = codecs(v, path);
  if (c) d.codecs = c;
  return d;
}

function verb(raw: unknown, path: string): Verb {
  if (!isObj(raw)) fail(path, 'must be an object');
  let name: unknown = raw.verb;
  let o: Obj = raw;
  if (name === undefined) {
    const keys = Object.keys(raw);
    if (keys.length === 1 && (VERBS as readonly string[]).includes(keys[0]!)) {
      name = keys[0];
      const inner = raw[keys[0]!];
      if (!isObj(inner)) fail(`${path}.${keys[0]}`, 'must be an object');
      o = inner;
    } else {
      fail(`${path}.verb`, `is required (one of ${VERBS.join(', ')})`);
    }
  }
  if (typeof name !== 'string' || !(VERBS as readonly string[]).includes(name)) {
    fail(`${path}.verb`, `unknown verb ${JSON.stringify(name)} (expected one of ${VERBS.join(', ')})`);
  }
  const label = statusLabel(o, path);
  const withLabel = <T extends Verb>(v: T): T => {
    if (label !== undefined) v.statusLabel = label;
    return v;
  };
  switch (name as (typeof VERBS)[number]) {
    case 'connect': {
      onlyKeys(o, ['verb', 'dest', 'reconnect', 'callerId', 'callerName', 'ringtone', 'statusLabel'], path);
      const rawDest = o.dest;
      if (rawDest === undefined || rawDest === null) fail(`${path}.dest`, 'is required');
      const list = Array.isArray(rawDest) ? rawDest : [rawDest];
      // SPEC §8: an empty dest list once hung the call forever; it is rejected here instead.
      if (list.length === 0) fail(`${path}.dest`, 'must name at least one destination');
      if (list.length > MAX_DESTS) fail(`${path}.dest`, `more than ${MAX_DESTS} destinations`);
      const v: ConnectVerb = { verb: 'connect', dest: list.map((d, i) => dest(d, `${path}.dest[${i}]`)) };
      const rc = optBool(o, 'reconnect', path);
      if (rc !== undefined) v.reconnect = rc;
      const cid = optString(o, 'callerId', path, 128);
      if (cid !== undefined) v.callerId = cid;
      const cname = optString(o, 'callerName', path, 128);
      if (cname !== undefined) v.callerName = cname;
      const rt = optString(o, 'ringtone', path, 1024);
      if (rt !== undefined) v.ringtone = rt;
      return withLabel(v);
    }
    case 'announce': {
      onlyKeys(o, ['verb', 'url', 'statusLabel'], path);
      const url = reqString(o, 'url', path, 2048);
      if (!/^(file:|https?:\/\/)/i.test(url)) fail(`${path}.url`, 'must be a file: or http(s) URL');
      return withLabel({ verb: 'announce', url });
    }
    case 'response': {
      onlyKeys(o, ['verb', 'code', 'reason', 'headers', 'statusLabel'], path);
      const code = number(o, 'code', path, 300, 699);
      if (!Number.isInteger(code)) fail(`${path}.code`, 'must be an integer');
      const v: ResponseVerb = { verb: 'response', code };
      const reason = optString(o, 'reason', path, 128);
      if (reason !== undefined) v.reason = reason;
      // A redirect must say where to: RFC 3261 §21.3 — 3xx responses carry Contact. Contact is the one owned
      // header a response verb may set.
      const rawHeaders = isObj(o.headers) ? { ...o.headers } : o.headers;
      let contact: string | undefined;
      if (isObj(rawHeaders)) {
        for (const k of Object.keys(rawHeaders)) {
          if (k.toLowerCase() === 'contact' || k === 'm') {
            const c = rawHeaders[k];
            if (typeof c !== 'string' || /[\r\n\0]/.test(c) || c.length > 2048) fail(`${path}.headers["${k}"]`, 'must be a single-line string');
            contact = c;
            delete rawHeaders[k];
          }
        }
      }
      const h = headers({ headers: rawHeaders }, 'headers', path);
      if (h || contact) v.headers = { ...(h ?? {}), ...(contact ? { Contact: contact } : {}) };
      if (code < 400 && !contact) fail(`${path}.headers`, 'a 3xx response needs a Contact header');
      return withLabel(v);
    }
    case 'pause': {
      onlyKeys(o, ['verb', 'duration', 'statusLabel'], path);
      return withLabel({ verb: 'pause', duration: number(o, 'duration', path, 0.02, 3600) });
    }
  }
}

/** Validate a CallHook reply and return the CallScript. Throws CallScriptError naming the bad field. */
export function parseCallScript(reply: unknown): CallScript {
  let list = reply;
  if (isObj(reply)) {
    if (Array.isArray(reply.script)) list = reply.script;
    else if (Array.isArray(reply.verbs)) list = reply.verbs;
    else list = [reply];
  }
  if (!Array.isArray(list)) fail('', 'must be a JSON array of verbs');
  if (list.length === 0) fail('', 'must contain at least one verb');
  if (list.length > MAX_VERBS) fail('', `more than ${MAX_VERBS} verbs`);
  return list.map((v, i) => verb(v, `[${i}]`));
}
