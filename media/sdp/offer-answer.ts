/**
 * RFC 3264 offer/answer for the PBX's audio leg, as pure functions over the SDP data model:
 *   - `answerOffer(offer, opts)` → the answer's m-sections + what was agreed (codec, DTMF, addresses, SRTP keys);
 *   - `buildOfferMedia(opts)` → our offer's audio m-section;
 *   - `processAnswer(offer, answer)` → what was agreed when the remote answered our offer.
 * A PBX leg carries one audio stream: the first acceptable audio m-section is accepted, every other one
 * (video, a second audio, DTLS-SRTP, port 0 in the offer) is answered with port 0 (RFC 3264 §6).
 */
import { SdpError } from './errors.js';
import {
  STATIC_PAYLOAD_TYPES,
  connectionAddress,
  formatCrypto,
  isHoldConnection,
  mediaCodecs,
  mediaConnection,
  mediaCryptos,
  mediaDirection,
  mediaMaxPtime,
  mediaPtime,
  mediaRtcp,
  mediaRtcpMux,
  staticPayloadType,
} from './attributes.js';
import type { SdpCodec, SdpCrypto, SdpDirection } from './attributes.js';
import type { SdpAttribute, SdpMedia, SessionDescription } from './session-description.js';

/** A codec we are willing to use, in our preference order. */
export interface SdpCodecPreference {
  name: string;
  /** Clock rate in SDP terms; G722 given as 16000 is treated as 8000 (RFC 3551 §4.5.2). */
  clockRate: number;
  channels?: number;
  /** fmtp we put in our offers (answers echo the offer's fmtp). */
  fmtp?: string;
  /**
   * fmtp parameters written into our ANSWER when this codec is chosen: each replaces the offer's parameter of the
   * same name (case-insensitive), the others of the offer are echoed as before ("maxplaybackrate=8000;...").
   */
  answerFmtp?: string;
  /** Payload type to use in our offers (default: the static one, else allocated from 96). */
  payloadType?: number;
}

/** SDES-SRTP (RFC 4568) capabilities. */
export interface SdpSrtpOptions {
  /** Crypto suites we accept/offer, in preference order (e.g. AES_CM_128_HMAC_SHA1_80). */
  suites: string[];
  /** Base64 master key||salt we announce for `suite` (one fresh key per suite and leg). */
  keyFor(suite: string): string;
}

export interface SdpMediaOptions {
  /** Our RTP port. */
  port: number;
  codecs: SdpCodecPreference[];
  /** Offer/answer RFC 4733 telephone-event (default true). */
  telephoneEvent?: boolean;
  ptime?: number;
  maxptime?: number;
  /** What we want to do (default sendrecv); an answer narrows it by the offer (RFC 3264 §6.1). */
  direction?: SdpDirection;
  /** Offer rtcp-mux / accept it when offered (default true). */
  rtcpMux?: boolean;
  /** Our RTCP port for a=rtcp (RFC 3605) when not muxed; omitted → none written (implies port+1). */
  rtcpPort?: number;
  srtp?: SdpSrtpOptions;
}

export interface SdpAnswerOptions extends SdpMediaOptions {
  /** Pick the codec by the offer's order instead of ours (default false: ours wins). */
  preferOfferOrder?: boolean;
  /** Answer every common codec instead of only the chosen one (default false). */
  multipleCodecs?: boolean;
}

export interface SdpNegotiatedSrtp {
  suite: string;
  tag: number;
  /** Base64 key||salt we use to protect what we send. */
  localKeySalt: string;
  /** Base64 key||salt the peer protects its packets with. */
  remoteKeySalt: string;
}

export interface SdpNegotiatedAudio {
  /** Index of the m-section. */
  mediaIndex: number;
  protocol: string;
  /** The codec; `payloadType` is the one we SEND with (the peer's receive mapping). */
  codec: SdpCodec;
  /** Payload type the peer sends this codec with (our receive mapping). */
  recvPayloadType: number;
  /** telephone-event at the codec's clock rate, or null when not agreed. */
  telephoneEvent: { payloadType: number; recvPayloadType: number; clockRate: number } | null;
  remoteAddress: string;
  remotePort: number;
  /** Where the peer wants RTCP (a=rtcp, else port+1; equal to remotePort with rtcp-mux). */
  remoteRtcpPort: number;
  rtcpMux: boolean;
  /** The peer's direction, with c=0.0.0.0 (old-style hold) folded in as "peer does not receive". */
  remoteDirection: SdpDirection;
  /** Our direction as written in our SDP. */
  localDirection: SdpDirection;
  /** The peer put the stream on hold (sendonly/inactive or c=0.0.0.0). */
  remoteHold: boolean;
  /** The peer's a=ptime / a=maxptime (ms). */
  ptime?: number;
  maxptime?: number;
  srtp: SdpNegotiatedSrtp | null;
}

// ------------------------------------------------------------------------------------------------ helpers

const SEND = 1;
const RECV = 2;
const DIR_BITS: Record<SdpDirection, number> = { sendrecv: SEND | RECV, sendonly: SEND, recvonly: RECV, inactive: 0 };
const BITS_DIR: SdpDirection[] = ['inactive', 'sendonly', 'recvonly', 'sendrecv'];

/**
 * RFC 3264 §6.1: an offered sendonly stream is answered recvonly (or inactive), recvonly → sendonly (or
 * inactive), inactive → inactive, sendrecv → whatever we want. `wanted` is what we would like to do.
 */
export function answerDirection(offered: SdpDirection, wanted: SdpDirection = 'sendrecv'): SdpDirection {
  const o = DIR_BITS[offered];
  const mirrored = (o & SEND ? RECV : 0) | (o & RECV ? SEND : 0);
  return BITS_DIR[mirrored & DIR_BITS[wanted]]!;
}

function normRate(name: string, rate: number): number {
  return name.toUpperCase() === 'G722' && rate === 16000 ? 8000 : rate;
}

function sameCodec(a: { name: string; clockRate: number; channels?: number }, b: SdpCodec): boolean {
  return (
    a.name.toLowerCase() === b.name.toLowerCase() &&
    normRate(a.name, a.clockRate) === b.clockRate &&
    (a.channels ?? 1) === b.channels
  );
}

function isAuxiliary(c: SdpCodec): boolean {
  const n = c.name.toLowerCase();
  return n === 'telephone-event' || n === 'cn' || n === 'red' || n === 'ulpfec';
}

/**
 * `base` fmtp ("a=1;b=2") with the parameters of `extra` replacing those of the same name (case-insensitive) in
 * place, new ones appended; `base` undefined → `extra`.
 */
export function mergeFmtp(base: string | undefined, extra: string): string {
  const parts = (base ?? '').split(';').map((x) => x.trim()).filter((x) => x !== '');
  const keyOf = (kv: string) => kv.split('=')[0]!.trim().toLowerCase();
  for (const kv of extra.split(';').map((x) => x.trim()).filter((x) => x !== '')) {
    const i = parts.findIndex((p) => keyOf(p) === keyOf(kv));
    if (i >= 0) parts[i] = kv;
    else parts.push(kv);
  }
  return parts.join(';');
}

const RTP_PROFILES = new Set(['RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'RTP/SAVPF']);

function isSecureProfile(proto: string): boolean {
  return proto === 'RTP/SAVP' || proto === 'RTP/SAVPF';
}

/** Key||salt lengths (bytes) of the SDES suites we know; others are passed through unchecked. */
const SUITE_KEY_BYTES: Record<string, number> = {
  AES_CM_128_HMAC_SHA1_80: 30,
  AES_CM_128_HMAC_SHA1_32: 30,
};

function usableCrypto(c: SdpCrypto, suites: string[]): boolean {
  if (!suites.includes(c.suite) || c.keyParams.length !== 1) return false;
  const k = c.keyParams[0]!;
  if (k.method !== 'inline' || k.mki !== undefined) return false; // no MKI support
  const want = SUITE_KEY_BYTES[c.suite];
  return want === undefined || Buffer.from(k.keySalt, 'base64').length === want;
}

function rtpmapLine(c: SdpCodec): SdpAttribute {
  return { name: 'rtpmap', value: `${c.payloadType} ${c.name}/${c.clockRate}${c.channels !== 1 ? '/' + c.channels : ''}` };
}

function rejectedMedia(m: SdpMedia): SdpMedia {
  // RFC 3264 §6: a rejected stream keeps its m= line with port 0 and at least one format.
  return { type: m.type, port: 0, protocol: m.protocol, formats: m.formats.length ? [...m.formats] : ['0'], connections: [], bandwidths: [], attributes: [] };
}

function writeCommonAttributes(attrs: SdpAttribute[], o: SdpMediaOptions, direction: SdpDirection, rtcpMux: boolean): void {
  if (o.ptime !== undefined) attrs.push({ name: 'ptime', value: String(o.ptime) });
  if (o.maxptime !== undefined) attrs.push({ name: 'maxptime', value: String(o.maxptime) });
  if (rtcpMux) attrs.push({ name: 'rtcp-mux' });
  else if (o.rtcpPort !== undefined) attrs.push({ name: 'rtcp', value: String(o.rtcpPort) });
  attrs.push({ name: direction });
}

// ------------------------------------------------------------------------------------------------ answer

/**
 * Answer an offer (RFC 3264 §6). Throws SdpError DPBX_ERR_SDP_NO_COMMON_CODEC (→ 488) when an audio stream was
 * offered but none can be accepted. Returns the answer's m-sections (one per offered m-section, same order)
 * and the agreed audio stream (null only when every offered audio stream was already disabled with port 0).
 */
export function answerOffer(
  offer: SessionDescription,
  opts: SdpAnswerOptions,
): { media: SdpMedia[]; audio: SdpNegotiatedAudio | null } {
  const media: SdpMedia[] = [];
  let audio: SdpNegotiatedAudio | null = null;
  let liveAudioOffered = false;
  let why = 'no audio stream offered';
  offer.media.forEach((m, index) => {
    if (audio !== null || m.type !== 'audio' || m.port === 0) {
      media.push(rejectedMedia(m));
      return;
    }
    liveAudioOffered = true;
    if (!RTP_PROFILES.has(m.protocol)) {
      why = `transport ${m.protocol} not supported`;
      media.push(rejectedMedia(m));
      return;
    }
    const offered = mediaCodecs(m);
    const main = offered.filter((c) => !isAuxiliary(c));
    let chosen: SdpCodec[] = [];
    if (opts.preferOfferOrder) {
      chosen = main.filter((c) => opts.codecs.some((p) => sameCodec(p, c)));
    } else {
      for (const p of opts.codecs) {
        const c = main.find((x) => sameCodec(p, x) && !chosen.includes(x));
        if (c) chosen.push(c);
      }
    }
    if (chosen.length === 0) {
      why = `no common codec (offered ${main.map((c) => `${c.name}/${c.clockRate}`).join(', ') || 'none'})`;
      media.push(rejectedMedia(m));
      return;
    }
    if (!opts.multipleCodecs) chosen = chosen.slice(0, 1);
    const codec = chosen[0]!;
    let srtp: SdpNegotiatedSrtp | null = null;
    if (isSecureProfile(m.protocol)) {
      const suites = opts.srtp?.suites ?? [];
      const c = mediaCryptos(m).find((x) => usableCrypto(x, suites));
      if (!c || !opts.srtp) {
        why = 'no acceptable a=crypto for RTP/SAVP';
        media.push(rejectedMedia(m));
        return;
      }
      srtp = { suite: c.suite, tag: c.tag, localKeySalt: opts.srtp.keyFor(c.suite), remoteKeySalt: c.keyParams[0]!.keySalt };
    }
    const te =
      opts.telephoneEvent === false
        ? undefined
        : offered.find((c) => c.name.toLowerCase() === 'telephone-event' && c.clockRate === codec.clockRate);
    const conn = mediaConnection(m, offer);
    if (!conn) throw new SdpError('DPBX_ERR_SDP_MISSING_FIELD', `m-section ${index} has no c= line (nor a session one)`);
    const hold = isHoldConnection(conn);
    let remoteDir = mediaDirection(m, offer);
    if (hold) remoteDir = BITS_DIR[DIR_BITS[remoteDir] & SEND]!; // 0.0.0.0: the peer does not want to receive
    const localDir = answerDirection(remoteDir, opts.direction);
    const rtcpMux = opts.rtcpMux !== false && mediaRtcpMux(m);

    const attrs: SdpAttribute[] = [];
    const formats: string[] = [];
    for (const c of chosen) {
      formats.push(String(c.payloadType));
      attrs.push(rtpmapLine(c));
      const extra = opts.codecs.find((p) => p.answerFmtp !== undefined && sameCodec(p, c))?.answerFmtp;
      const fmtp = extra !== undefined ? mergeFmtp(c.fmtp, extra) : c.fmtp;
      if (fmtp !== undefined) attrs.push({ name: 'fmtp', value: `${c.payloadType} ${fmtp}` });
    }
    if (te) {
      formats.push(String(te.payloadType));
      attrs.push(rtpmapLine(te));
      attrs.push({ name: 'fmtp', value: `${te.payloadType} 0-15` });
    }
    writeCommonAttributes(attrs, opts, localDir, rtcpMux);
    if (srtp) attrs.push({ name: 'crypto', value: formatCrypto({ tag: srtp.tag, suite: srtp.suite, keyParams: [{ method: 'inline', keySalt: srtp.localKeySalt }], sessionParams: [] }) });
    media.push({ type: 'audio', port: opts.port, protocol: m.protocol, formats, connections: [], bandwidths: [], attributes: attrs });

    const rtcp = mediaRtcp(m);
    const ptime = mediaPtime(m);
    const maxptime = mediaMaxPtime(m);
    audio = {
      mediaIndex: index,
      protocol: m.protocol,
      codec: { ...codec },
      recvPayloadType: codec.payloadType,
      telephoneEvent: te ? { payloadType: te.payloadType, recvPayloadType: te.payloadType, clockRate: te.clockRate } : null,
      remoteAddress: connectionAddress(conn),
      remotePort: m.port,
      remoteRtcpPort: rtcpMux ? m.port : (rtcp?.port ?? m.port + 1),
      rtcpMux,
      remoteDirection: remoteDir,
      localDirection: localDir,
      remoteHold: (DIR_BITS[remoteDir] & RECV) === 0,
      srtp,
      ...(ptime !== undefined ? { ptime } : {}),
      ...(maxptime !== undefined ? { maxptime } : {}),
    };
  });
  if (audio === null && liveAudioOffered) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', `offer not acceptable: ${why}`);
  if (audio === null && offer.media.length === 0) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'offer has no media');
  return { media, audio };
}

// ------------------------------------------------------------------------------------------------ offer

/** The codecs (with payload types) our offer lists, telephone-event included: static PTs, else 96 upward. */
export function offerCodecs(opts: Pick<SdpMediaOptions, 'codecs' | 'telephoneEvent'>): SdpCodec[] {
  const used = new Set<number>();
  const out: SdpCodec[] = [];
  for (const p of opts.codecs) if (p.payloadType !== undefined) used.add(p.payloadType);
  let next = 96;
  const alloc = () => {
    while (used.has(next)) next++;
    if (next > 127) throw new SdpError('DPBX_ERR_SDP_BAD_VALUE', 'more codecs than dynamic payload types');
    used.add(next);
    return next;
  };
  for (const p of opts.codecs) {
    const rate = normRate(p.name, p.clockRate);
    const channels = p.channels ?? 1;
    let pt = p.payloadType ?? staticPayloadType(p.name, rate, channels);
    if (pt < 0) pt = alloc();
    used.add(pt);
    const known = STATIC_PAYLOAD_TYPES.get(pt);
    const c: SdpCodec = { payloadType: pt, name: known && known.name === p.name.toUpperCase() ? known.name : p.name, clockRate: rate, channels };
    if (p.fmtp !== undefined) c.fmtp = p.fmtp;
    out.push(c);
  }
  if (opts.telephoneEvent !== false) {
    // RFC 4733 §7.1.1: one telephone-event per clock rate in use, so DTMF can follow whichever codec is chosen.
    const rates: number[] = [];
    for (const c of out) if (!rates.includes(c.clockRate)) rates.push(c.clockRate);
    for (const r of rates) {
      let pt: number;
      if (r === 8000 && !used.has(101)) {
        pt = 101;
        used.add(101);
      } else {
        pt = alloc();
      }
      out.push({ payloadType: pt, name: 'telephone-event', clockRate: r, channels: 1, fmtp: '0-15' });
    }
  }
  return out;
}

/** Our audio offer's m-section (connection address goes at session level, see SdpLocalSession). */
export function buildOfferMedia(opts: SdpMediaOptions): SdpMedia {
  const codecs = offerCodecs(opts);
  const attrs: SdpAttribute[] = [];
  for (const c of codecs) {
    attrs.push(rtpmapLine(c));
    if (c.fmtp !== undefined) attrs.push({ name: 'fmtp', value: `${c.payloadType} ${c.fmtp}` });
  }
  writeCommonAttributes(attrs, opts, opts.direction ?? 'sendrecv', opts.rtcpMux !== false);
  let protocol = 'RTP/AVP';
  if (opts.srtp && opts.srtp.suites.length > 0) {
    protocol = 'RTP/SAVP';
    opts.srtp.suites.forEach((suite, i) => {
      attrs.push({ name: 'crypto', value: formatCrypto({ tag: i + 1, suite, keyParams: [{ method: 'inline', keySalt: opts.srtp!.keyFor(suite) }], sessionParams: [] }) });
    });
  }
  return { type: 'audio', port: opts.port, protocol, formats: codecs.map((c) => String(c.payloadType)), connections: [], bandwidths: [], attributes: attrs };
}

// ------------------------------------------------------------------------------------------------ answer processing

/**
 * What the remote's answer to OUR offer agreed (RFC 3264 §7). Throws SdpError DPBX_ERR_SDP_ANSWER_MISMATCH when
 * the answer does not fit the offer (m-line count or types differ, a codec or crypto tag we did not offer) and
 * DPBX_ERR_SDP_NO_COMMON_CODEC when the audio stream was rejected. Our SRTP key is read back from the offer's
 * a=crypto line whose tag the answer chose.
 */
export function processAnswer(offer: SessionDescription, answer: SessionDescription): SdpNegotiatedAudio {
  if (answer.media.length !== offer.media.length) {
    throw new SdpError('DPBX_ERR_SDP_ANSWER_MISMATCH', `answer has ${answer.media.length} m-lines, offer ${offer.media.length}`);
  }
  for (let i = 0; i < offer.media.length; i++) {
    const om = offer.media[i]!;
    const am = answer.media[i]!;
    if (om.type !== am.type) throw new SdpError('DPBX_ERR_SDP_ANSWER_MISMATCH', `m-line ${i} is ${am.type}, offered ${om.type}`);
    if (om.type !== 'audio' || om.port === 0) continue;
    if (am.port === 0) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'the answer rejected the audio stream');
    const ours = mediaCodecs(om);
    const theirs = mediaCodecs(am);
    let codec: SdpCodec | undefined;
    let recvPt = -1;
    for (const c of theirs) {
      if (isAuxiliary(c)) continue;
      const o = ours.find((x) => !isAuxiliary(x) && sameCodec(x, c));
      if (o) {
        codec = c;
        recvPt = o.payloadType;
        break;
      }
    }
    if (!codec) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'the answer names no codec we offered');
    const teTheirs = theirs.find((c) => c.name.toLowerCase() === 'telephone-event' && c.clockRate === codec.clockRate);
    const teOurs = ours.find((c) => c.name.toLowerCase() === 'telephone-event' && c.clockRate === codec.clockRate);
    let srtp: SdpNegotiatedSrtp | null = null;
    if (isSecureProfile(om.protocol)) {
      const ac = mediaCryptos(am)[0];
      const oc = ac && mediaCryptos(om).find((x) => x.tag === ac.tag && x.suite === ac.suite);
      if (!ac || !oc || ac.keyParams.length === 0) {
        throw new SdpError('DPBX_ERR_SDP_ANSWER_MISMATCH', 'the answer has no a=crypto matching an offered tag and suite');
      }
      srtp = { suite: ac.suite, tag: ac.tag, localKeySalt: oc.keyParams[0]!.keySalt, remoteKeySalt: ac.keyParams[0]!.keySalt };
    }
    const conn = mediaConnection(am, answer);
    if (!conn) throw new SdpError('DPBX_ERR_SDP_MISSING_FIELD', `answer m-section ${i} has no c= line`);
    let remoteDir = mediaDirection(am, answer);
    if (isHoldConnection(conn)) remoteDir = BITS_DIR[DIR_BITS[remoteDir] & SEND]!;
    const rtcpMux = mediaRtcpMux(am) && mediaRtcpMux(om);
    const rtcp = mediaRtcp(am);
    const ptime = mediaPtime(am);
    const maxptime = mediaMaxPtime(am);
    return {
      mediaIndex: i,
      protocol: am.protocol,
      codec: { ...codec },
      recvPayloadType: recvPt,
      telephoneEvent:
        teTheirs && teOurs ? { payloadType: teTheirs.payloadType, recvPayloadType: teOurs.payloadType, clockRate: teTheirs.clockRate } : null,
      remoteAddress: connectionAddress(conn),
      remotePort: am.port,
      remoteRtcpPort: rtcpMux ? am.port : (rtcp?.port ?? am.port + 1),
      rtcpMux,
      remoteDirection: remoteDir,
      localDirection: mediaDirection(om, offer),
      remoteHold: (DIR_BITS[remoteDir] & RECV) === 0,
      srtp,
      ...(ptime !== undefined ? { ptime } : {}),
      ...(maxptime !== undefined ? { maxptime } : {}),
    };
  }
  throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'the offer had no live audio stream');
}
