/**
 * SDP (RFC 8866) as a plain data model with `parseSdp(text)` / `serializeSdp(sd)`. Every line type of §5 is
 * modelled; attributes keep their order and raw value, so unknown attributes survive a round trip. Typed views
 * of the attributes the PBX negotiates (rtpmap, fmtp, crypto, direction, rtcp, ...) live in attributes.ts.
 *
 * Session-level line order (RFC 8866 §5):   v o s i? u? e* p* c? b* (t r*)+ z? k? a*  then m-sections
 * Media-level line order:                   m i? c* b* k? a*
 */
import { SdpError } from './errors.js';

export interface SdpOrigin {
  username: string;
  /** Kept as decimal text: values may exceed 2^53. */
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addrType: string;
  address: string;
}

export interface SdpConnection {
  netType: string;
  /** 'IP4' or 'IP6' (others are kept as given). */
  addrType: string;
  /** Address, with any "/ttl/count" suffix kept as written. */
  address: string;
}

export interface SdpBandwidth {
  type: string;
  value: number;
}

export interface SdpAttribute {
  name: string;
  /** undefined for a property attribute (`a=sendrecv`); '' for `a=name:` with an empty value. */
  value?: string;
}

export interface SdpTiming {
  start: string;
  stop: string;
  /** r= lines following this t=, raw. */
  repeats: string[];
}

export interface SdpMedia {
  /** audio, video, text, application, message, or anything else given. */
  type: string;
  port: number;
  /** "m=audio 49170/2 ..." → 2. */
  portCount?: number;
  /** RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, ... */
  protocol: string;
  /** Format list (payload type numbers for RTP), as strings. */
  formats: string[];
  information?: string;
  connections: SdpConnection[];
  bandwidths: SdpBandwidth[];
  key?: string;
  attributes: SdpAttribute[];
}

export interface SessionDescription {
  version: number;
  origin: SdpOrigin;
  sessionName: string;
  information?: string;
  uri?: string;
  emails: string[];
  phones: string[];
  connection?: SdpConnection;
  bandwidths: SdpBandwidth[];
  timing: SdpTiming[];
  zone?: string;
  key?: string;
  attributes: SdpAttribute[];
  media: SdpMedia[];
}

const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;

function syntax(msg: string, line: number): SdpError {
  return new SdpError('DPBX_ERR_SDP_SYNTAX', msg, line);
}

function parseConnection(v: string, line: number): SdpConnection {
  const p = v.split(' ');
  if (p.length !== 3 || !p[0] || !p[1] || !p[2]) throw syntax(`c= needs "<nettype> <addrtype> <address>": "${v}"`, line);
  return { netType: p[0], addrType: p[1], address: p[2] };
}

function parseBandwidth(v: string, line: number): SdpBandwidth {
  const i = v.indexOf(':');
  const type = v.slice(0, i);
  const value = v.slice(i + 1);
  if (i <= 0 || !TOKEN.test(type) || !/^\d{1,10}$/.test(value)) throw syntax(`b= needs "<bwtype>:<bandwidth>": "${v}"`, line);
  return { type, value: Number(value) };
}

function parseAttribute(v: string, line: number): SdpAttribute {
  const i = v.indexOf(':');
  const name = i < 0 ? v : v.slice(0, i);
  if (!TOKEN.test(name)) throw syntax(`a= attribute name "${name}" is not a token`, line);
  return i < 0 ? { name } : { name, value: v.slice(i + 1) };
}

function parseMedia(v: string, line: number): SdpMedia {
  const p = v.split(' ');
  if (p.length < 4 || p.some((x) => x === '')) throw syntax(`m= needs "<media> <port> <proto> <fmt> ...": "${v}"`, line);
  const m = /^(\d{1,5})(?:\/(\d{1,5}))?$/.exec(p[1]!);
  if (!m || Number(m[1]) > 65535) throw syntax(`m= port "${p[1]}" is not a port number`, line);
  const media: SdpMedia = {
    type: p[0]!,
    port: Number(m[1]),
    protocol: p[2]!,
    formats: p.slice(3),
    connections: [],
    bandwidths: [],
    attributes: [],
  };
  if (m[2] !== undefined) media.portCount = Number(m[2]);
  return media;
}

/**
 * Parse an SDP body. Accepts CRLF or bare LF line ends and a missing final line end. Throws `SdpError`
 * (never anything else) with the 1-based line number on any syntax error, a missing v=/o=/s=/t= line or a
 * line type RFC 8866 does not define (§5: a parser must ignore or reject such a description; we reject).
 */
export function parseSdp(text: string): SessionDescription {
  if (typeof text !== 'string') throw new SdpError('DPBX_ERR_SDP_SYNTAX', 'SDP body is not text');
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new SdpError('DPBX_ERR_SDP_MISSING_FIELD', 'empty SDP body');
  let origin: SdpOrigin | undefined;
  let sessionName: string | undefined;
  let version: number | undefined;
  const sd: Partial<SessionDescription> & { emails: string[]; phones: string[]; bandwidths: SdpBandwidth[]; timing: SdpTiming[]; attributes: SdpAttribute[]; media: SdpMedia[] } = {
    emails: [],
    phones: [],
    bandwidths: [],
    timing: [],
    attributes: [],
    media: [],
  };
  let cur: SdpMedia | undefined;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const l = lines[i]!;
    if (l.length < 2 || l[1] !== '=' || l.charCodeAt(0) < 0x61 || l.charCodeAt(0) > 0x7a) {
      throw syntax(`"${l.slice(0, 40)}" is not a "<type>=<value>" line`, n);
    }
    const type = l[0]!;
    const v = l.slice(2);
    if (i === 0 && type !== 'v') throw new SdpError('DPBX_ERR_SDP_MISSING_FIELD', 'SDP must start with v=', n);
    if (cur) {
      switch (type) {
        case 'm':
          cur = parseMedia(v, n);
          sd.media.push(cur);
          break;
        case 'i':
          cur.information = v;
          break;
        case 'c':
          cur.connections.push(parseConnection(v, n));
          break;
        case 'b':
          cur.bandwidths.push(parseBandwidth(v, n));
          break;
        case 'k':
          cur.key = v;
          break;
        case 'a':
          cur.attributes.push(parseAttribute(v, n));
          break;
        default:
          throw syntax(`line type "${type}=" is not allowed in a media section`, n);
      }
      continue;
    }
    switch (type) {
      case 'v':
        if (version !== undefined) throw syntax('second v= line', n);
        if (v !== '0') throw new SdpError('DPBX_ERR_SDP_BAD_VALUE', `SDP version "${v}" is not 0`, n);
        version = 0;
        break;
      case 'o': {
        const p = v.split(' ');
        if (p.length !== 6 || p.some((x) => x === '')) throw syntax(`o= needs 6 fields: "${v}"`, n);
        if (!/^\d+$/.test(p[1]!) || !/^\d+$/.test(p[2]!)) throw syntax('o= session id and version must be numeric', n);
        origin = { username: p[0]!, sessionId: p[1]!, sessionVersion: p[2]!, netType: p[3]!, addrType: p[4]!, address: p[5]! };
        break;
      }
      case 's':
        sessionName = v;
        break;
      case 'i':
        sd.information = v;
        break;
      case 'u':
        sd.uri = v;
        break;
      case 'e':
        sd.emails.push(v);
        break;
      case 'p':
        sd.phones.push(v);
        break;
      case 'c':
        sd.connection = parseConnection(v, n);
        break;
      case 'b':
        sd.bandwidths.push(parseBandwidth(v, n));
        break;
      case 't': {
        const p = v.split(' ');
        if (p.length !== 2 || !/^\d+$/.test(p[0]!) || !/^\d+$/.test(p[1]!)) throw syntax(`t= needs "<start> <stop>": "${v}"`, n);
        sd.timing.push({ start: p[0]!, stop: p[1]!, repeats: [] });
        break;
      }
      case 'r': {
        const last = sd.timing[sd.timing.length - 1];
        if (!last) throw syntax('r= without a preceding t=', n);
        last.repeats.push(v);
        break;
      }
      case 'z':
        sd.zone = v;
        break;
      case 'k':
        sd.key = v;
        break;
      case 'a':
        sd.attributes.push(parseAttribute(v, n));
        break;
      case 'm':
        cur = parseMedia(v, n);
        sd.media.push(cur);
        break;
      default:
        throw syntax(`unknown SDP line type "${type}="`, n);
    }
  }
  if (origin === undefined) throw new SdpError('DPBX_ERR_SDP_MISSING_FIELD', 'SDP without o= line');
  if (sessionName === undefined) throw new SdpError('DPBX_ERR_SDP_MISSING_FIELD', 'SDP without s= line');
  // RFC 8866 requires t=; some SIP endpoints omit it. Tolerate, and write "t=0 0" back when serializing.
  return {
    version: 0,
    origin,
    sessionName,
    ...(sd.information !== undefined ? { information: sd.information } : {}),
    ...(sd.uri !== undefined ? { uri: sd.uri } : {}),
    emails: sd.emails,
    phones: sd.phones,
    ...(sd.connection ? { connection: sd.connection } : {}),
    bandwidths: sd.bandwidths,
    timing: sd.timing,
    ...(sd.zone !== undefined ? { zone: sd.zone } : {}),
    ...(sd.key !== undefined ? { key: sd.key } : {}),
    attributes: sd.attributes,
    media: sd.media,
  };
}

function attrLine(a: SdpAttribute): string {
  return a.value === undefined ? `a=${a.name}` : `a=${a.name}:${a.value}`;
}

function conn(c: SdpConnection): string {
  return `c=${c.netType} ${c.addrType} ${c.address}`;
}

/** Serialize to SDP text with CRLF line ends (RFC 8866 §5), lines in the order the RFC requires. */
export function serializeSdp(sd: SessionDescription): string {
  const o = sd.origin;
  const out: string[] = [
    `v=${sd.version}`,
    `o=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`,
    // RFC 8866 §5.3: "If a session has no meaningful name, then "s= " SHOULD be used".
    `s=${sd.sessionName === '' ? ' ' : sd.sessionName}`,
  ];
  if (sd.information !== undefined) out.push(`i=${sd.information}`);
  if (sd.uri !== undefined) out.push(`u=${sd.uri}`);
  for (const e of sd.emails) out.push(`e=${e}`);
  for (const p of sd.phones) out.push(`p=${p}`);
  if (sd.connection) out.push(conn(sd.connection));
  for (const b of sd.bandwidths) out.push(`b=${b.type}:${b.value}`);
  if (sd.timing.length === 0) out.push('t=0 0');
  for (const t of sd.timing) {
    out.push(`t=${t.start} ${t.stop}`);
    for (const r of t.repeats) out.push(`r=${r}`);
  }
  if (sd.zone !== undefined) out.push(`z=${sd.zone}`);
  if (sd.key !== undefined) out.push(`k=${sd.key}`);
  for (const a of sd.attributes) out.push(attrLine(a));
  for (const m of sd.media) {
    const port = m.portCount !== undefined ? `${m.port}/${m.portCount}` : `${m.port}`;
    out.push(`m=${m.type} ${port} ${m.protocol} ${m.formats.join(' ')}`);
    if (m.information !== undefined) out.push(`i=${m.information}`);
    for (const c of m.connections) out.push(conn(c));
    for (const b of m.bandwidths) out.push(`b=${b.type}:${b.value}`);
    if (m.key !== undefined) out.push(`k=${m.key}`);
    for (const a of m.attributes) out.push(attrLine(a));
  }
  return out.join('\r\n') + '\r\n';
}
