// Via header values (RFC 3261 §20.42, RFC 3581 rport).
//   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
//   sent-protocol = protocol-name SLASH protocol-version SLASH transport

import { badHeader, type SipParseError } from './errors.js';
import { type Params, newParams, parseHeaderParams, scanToken, skipWs, formatParams, parseHeaderParamsWire, paramsWireError, skipWsWire,
  scanTokenWire, scanPort, scanPortWire, scannedPort, BYTE_CLASS, WTOKEN } from './scan.js';

export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

export class Via {
  /** 'SIP' */
  declare protocol: string;
  /** '2.0' */
  declare version: string;
  /** Uppercase transport: 'UDP', 'TCP', 'TLS', 'WS', 'WSS', 'SCTP', ... */
  declare transport: string;
  /** Host as written (IPv6 keeps its brackets). */
  declare host: string;
  declare port: number | undefined;
  /** Lowercase parameter names; null = flag without value. */
  declare params: Params;

  constructor(transport: string, host: string, port?: number, params?: Params, protocol = 'SIP', version = '2.0') {
    this.protocol = protocol;
    this.version = version;
    this.transport = isUpperAscii(transport) ? transport : transport.toUpperCase();
    this.host = host;
    this.port = port;
    this.params = params ?? newParams();
  }

  get branch(): string | undefined {
    const b = this.params['branch'];
    return typeof b === 'string' ? b : undefined;
  }
  set branch(v: string | undefined) {
    if (v === undefined) delete this.params['branch'];
    else this.params['branch'] = v;
  }

  /**
   * Whether the branch is an RFC 3261 transaction id: the magic cookie `z9hG4bK` followed by an identifier.
   * RFC 4475 §3.2.1 (badbranch): a branch of the bare cookie "provides no identifier"; an element may "fall
   * back to the RFC 2543-style transaction identifier", which is what false here makes the transaction layer do.
   */
  get isRfc3261Branch(): boolean {
    const b = this.branch;
    return b !== undefined && b.length > BRANCH_MAGIC_COOKIE.length && b.startsWith(BRANCH_MAGIC_COOKIE);
  }

  get received(): string | undefined {
    const r = this.params['received'];
    return typeof r === 'string' ? r : undefined;
  }
  set received(v: string | undefined) {
    if (v === undefined) delete this.params['received'];
    else this.params['received'] = v;
  }

  /** rport: undefined when absent, null when present without value (a request for it), else the port. */
  get rport(): number | null | undefined {
    if (!('rport' in this.params)) return undefined;
    const v = this.params['rport'];
    if (v === null || v === undefined) return null;
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : null;
  }
  set rport(v: number | null | undefined) {
    if (v === undefined) delete this.params['rport'];
    else this.params['rport'] = v === null ? null : String(v);
  }

  get maddr(): string | undefined {
    const v = this.params['maddr'];
    return typeof v === 'string' ? v : undefined;
  }

  get ttl(): number | undefined {
    const v = this.params['ttl'];
    return typeof v === 'string' ? Number(v) : undefined;
  }

  /** Host without IPv6 brackets. */
  get hostname(): string {
    const h = this.host;
    return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  }

  toString(): string {
    return `${this.protocol}/${this.version}/${this.transport} ${this.host}${this.port !== undefined ? ':' + this.port : ''}` +
      formatParams(this.params);
  }
}

// sent-protocol elements seen on every message, as constants (no slice, no case conversion).
const TRANSPORTS = ['UDP', 'TCP', 'TLS', 'WS', 'WSS', 'SCTP', 'TLS-SCTP'];

/** s[a, b) uppercased, as a constant when it is a common transport. */
function upperTransport(s: string, a: number, b: number): string {
  for (let k = 0; k < TRANSPORTS.length; k++) {
    const t = TRANSPORTS[k]!;
    if (t.length !== b - a) continue;
    let i = 0;
    while (a + i < b) {
      let c = s.charCodeAt(a + i);
      if (c >= 0x61 && c <= 0x7a) c -= 0x20;
      if (c !== t.charCodeAt(i)) break;
      i++;
    }
    if (a + i === b) return t;
  }
  return s.slice(a, b).toUpperCase();
}

function isUpperAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || c >= 0x80) return false;
  }
  return true;
}

/** Parse one via-parm (the caller splits comma lists). */
export function parseVia(s: string): Via {
  return parseViaAt(s, 0, s.length);
}

/** parseVia() of s[a, n) (the parser reads values in place, inside the header text). */
export function parseViaAt(s: string, a: number, n: number): Via {
  const H = 'Via';
  let i = skipWs(s, a, n);
  // sent-protocol: three tokens separated by '/' (LWS allowed around it).
  let protocol = '';
  let version = '';
  let transport = '';
  for (let k = 0; k < 3; k++) {
    if (k > 0) {
      i = skipWs(s, i, n);
      if (i >= n || s.charCodeAt(i) !== 0x2f) throw badHeader(H, 'sent-protocol needs name/version/transport');
      i = skipWs(s, i + 1, n);
    }
    const st = i;
    i = scanToken(s, i, n);
    if (i === st) throw badHeader(H, 'empty sent-protocol element');
    if (k === 0) {
      protocol = i - st === 3 && (s.charCodeAt(st) | 0x20) === 0x73 && (s.charCodeAt(st + 1) | 0x20) === 0x69 &&
        (s.charCodeAt(st + 2) | 0x20) === 0x70 ? 'SIP' : s.slice(st, i).toUpperCase();
    } else if (k === 1) {
      version = i - st === 3 && s.charCodeAt(st) === 0x32 && s.charCodeAt(st + 1) === 0x2e && s.charCodeAt(st + 2) === 0x30
        ? '2.0' : s.slice(st, i);
    } else {
      transport = upperTransport(s, st, i);
    }
  }
  const sp = i;
  i = skipWs(s, i, n);
  if (i === sp) throw badHeader(H, 'missing whitespace before sent-by');
  const hostStart = i;
  if (i < n && s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close < 0 || close >= n) throw badHeader(H, 'unterminated IPv6 reference');
    for (let j = i + 1; j < close; j++) {
      const c = s.charCodeAt(j);
      const ok = (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === 0x2e;
      if (!ok) throw badHeader(H, 'invalid IPv6 reference');
    }
    i = close + 1;
  } else {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d ||
        c === 0x2e || c === 0x5f)) break;
      i++;
    }
  }
  if (i === hostStart) throw badHeader(H, 'missing host');
  const host = s.slice(hostStart, i);
  let port: number | undefined;
  i = skipWs(s, i, n);
  if (i < n && s.charCodeAt(i) === 0x3a) {
    i = scanPort(s, skipWs(s, i + 1, n), n);
    if (i < 0) throw badHeader(H, 'invalid port');
    port = scannedPort;
  }
  const params = newParams();
  i = parseHeaderParams(s, i, params, H, n);
  i = skipWs(s, i, n);
  if (i !== n) throw badHeader(H, `unexpected text '${s.slice(i, Math.min(n, i + 20))}'`);
  return new Via(transport, host, port, params, protocol, version);
}

/** Host name bytes of a Via sent-by (the string form's loop): 0-9 A-Z a-z - . _ */
const VIA_HOST = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e ||
    c === 0x5f) VIA_HOST[c] = 1;
}

/** upperTransport() of b[a, e) when it is one of TRANSPORTS; '' otherwise. */
function transportWire(b: Uint8Array, a: number, e: number): string {
  for (let k = 0; k < TRANSPORTS.length; k++) {
    const tr = TRANSPORTS[k]!;
    if (tr.length !== e - a) continue;
    let i = 0;
    while (a + i < e) {
      let c = b[a + i]!;
      if (c >= 0x61 && c <= 0x7a) c -= 0x20;
      if (c !== tr.charCodeAt(i)) break;
      i++;
    }
    if (a + i === e) return tr;
  }
  return '';
}

/** UDP, TCP or TLS (any case) at b[p, p + 3), as the constant uppercase string; '' otherwise. */
function transport3Wire(b: Uint8Array, p: number): string {
  const c0 = b[p]! | 0x20;
  const c1 = b[p + 1]! | 0x20;
  const c2 = b[p + 2]! | 0x20;
  if (c0 === 0x75) return c1 === 0x64 && c2 === 0x70 ? 'UDP' : '';
  if (c0 !== 0x74) return '';
  if (c1 === 0x63 && c2 === 0x70) return 'TCP';
  return c1 === 0x6c && c2 === 0x73 ? 'TLS' : '';
}

/**
 * parseViaAt(t, a - base, n - base) over the bytes of an ASCII header section (see "wire fast paths" in
 * scan.ts): the same Via; or the SipParseError it throws, for a malformed parameter list after a well-formed
 * sent-by; or undefined (BAIL) for anything else but one well-formed via-parm with a known transport and a host
 * name or IPv4 address: the caller then runs parseViaAt(), which also throws the other errors.
 */
export function parseViaWire(b: Uint8Array, a: number, n: number, t: string, base: number): Via | SipParseError | undefined {
  let i: number;
  let version: string;
  let transport: string;
  // The usual sent-protocol, SIP/2.0/UDP (TCP, TLS; any case) ending where the token does, by its bytes: the
  // general path below reads the same three tokens and finds the same end.
  const tr = a + 11 < n && b[a + 3] === 0x2f && b[a + 4] === 0x32 && b[a + 5] === 0x2e && b[a + 6] === 0x30 && b[a + 7] === 0x2f &&
    (b[a]! | 0x20) === 0x73 && (b[a + 1]! | 0x20) === 0x69 && (b[a + 2]! | 0x20) === 0x70 && BYTE_CLASS[b[a + 11]!] !== WTOKEN
    ? transport3Wire(b, a + 8) : '';
  if (tr !== '') {
    i = a + 11;
    version = '2.0';
    transport = tr;
  } else {
    i = skipWsWire(b, a, n);
    let st = i;
    i = scanTokenWire(b, i, n);
    if (i - st !== 3 || (b[st]! | 0x20) !== 0x73 || (b[st + 1]! | 0x20) !== 0x69 || (b[st + 2]! | 0x20) !== 0x70) return undefined;
    i = skipWsWire(b, i, n);
    if (i >= n || b[i] !== 0x2f) return undefined;
    i = skipWsWire(b, i + 1, n);
    st = i;
    i = scanTokenWire(b, i, n);
    if (i === st) return undefined;
    version = i - st === 3 && b[st] === 0x32 && b[st + 1] === 0x2e && b[st + 2] === 0x30 ? '2.0' : t.slice(st - base, i - base);
    i = skipWsWire(b, i, n);
    if (i >= n || b[i] !== 0x2f) return undefined;
    i = skipWsWire(b, i + 1, n);
    st = i;
    i = scanTokenWire(b, i, n);
    transport = transportWire(b, st, i);
    if (transport === '') return undefined;
  }
  const sp = i;
  i = skipWsWire(b, i, n);
  if (i === sp) return undefined;
  const hostStart = i;
  while (i < n && VIA_HOST[b[i]!] === 1) i++;
  if (i === hostStart) return undefined;
  const host = t.slice(hostStart - base, i - base);
  let port: number | undefined;
  i = skipWsWire(b, i, n);
  if (i < n && b[i] === 0x3a) {
    i = scanPortWire(b, skipWsWire(b, i + 1, n), n);
    if (i < 0) return undefined;
    port = scannedPort;
  }
  const params = newParams();
  i = parseHeaderParamsWire(b, i, n, params, t, base);
  // A parameter list that fails here, before any comma, fails the same way in the string parser.
  if (i < 0) return paramsWireError('Via', t, base);
  i = skipWsWire(b, i, n);
  if (i !== n) return undefined;
  return new Via(transport, host, port, params, 'SIP', version);
}
