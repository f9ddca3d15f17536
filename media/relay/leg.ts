/**
 * One leg of a media session inside a worker: its sockets, negotiated formats, latching state, the stream we
 * send to it, and its counters. Owned by MediaSession, which runs the packet path.
 */
import type { UdpEndpoint } from './udp-io.js';
import { NetAddr } from './net-addr.js';
import { RtpSourceStats, SrtpContext } from '../rtp/index.js';
import { RelayError } from './errors.js';
import { OutStream } from './out-stream.js';
import type { CodecSpec, DropCounters, LegOptions, LegStats, MediaDirection, Transcoder } from './types.js';
import type { FrameSource, Playout } from '../play/index.js';

export const PT_KIND_NONE = 0;
export const PT_KIND_AUDIO = 1;
export const PT_KIND_TELEPHONE_EVENT = 2;
export const PT_KIND_CN = 3;

/** Route actions stored per input payload type: 0–127 = output PT (pass-through), otherwise one of these. */
export const ACT_TRANSCODE = 200;
export const ACT_DROP_UNKNOWN = 201;
export const ACT_DROP_NO_TE = 202;

export function isTelephoneEvent(c: CodecSpec): boolean {
  return c.name.toLowerCase() === 'telephone-event';
}
export function isComfortNoise(c: CodecSpec): boolean {
  return c.name.toUpperCase() === 'CN';
}
/** RFC 3264 §8.4 / RFC 2543 old-style hold: c=0.0.0.0 (or the IPv6 unspecified address) means "send nothing". */
export function isUnspecifiedAddress(a: string): boolean {
  return a === '0.0.0.0' || a === '::' || a === '0:0:0:0:0:0:0:0';
}

export function sameFormat(a: CodecSpec, b: CodecSpec): boolean {
  return a.name.toLowerCase() === b.name.toLowerCase() && a.rate === b.rate && (a.channels ?? 1) === (b.channels ?? 1);
}

/** Direction src → dst: payload-type actions, optional transcoder and its output numbering. */
export interface Route {
  dst: Leg;
  ptMap: Uint8Array;
  transcoder: Transcoder | null;
  /** Destination audio clock rate and samples per frame (for switch gaps). */
  rate: number;
  frameSamples: number;
  /** Destination payload type of the transcoded audio. */
  dstAudioPt: number;
  // numbering of transcoder output (its own sequence space, then mapped by the destination's OutStream)
  tcSeq: number;
  tcTs: number;
  teInTs: number;
  teOutTs: number;
  /** Per input PT: destination / source telephone-event clock rate (event durations are rescaled), else 1. */
  teScale: Float64Array;
  meta: { pt: number; seq: number; timestamp: number; ssrc: number; marker: boolean };
}

export interface PlayState {
  url: string;
  frames: FrameSource;
  playout: Playout;
  stopOnMedia: boolean;
  transcoder: Transcoder | null;
  pt: number;
  ssrc: number;
  seq: number;
  ts: number;
}

export class Leg {
  readonly id: string;
  /** Small integer unique in the session, used as the source id in OutStream. */
  readonly index: number;
  readonly localPort: number;
  /** The leg's RTP port (also RTCP with rtcp-mux); told the latched peer (`setPeer`, see UdpEndpoint). */
  readonly rtp: UdpEndpoint;
  /** RTCP port (port + 1), null with rtcp-mux. */
  readonly rtcp: UdpEndpoint | null;

  codecs: CodecSpec[] = [];
  audio: CodecSpec | null = null;
  /** PT → kind (PT_KIND_*) for the formats negotiated on this leg. */
  readonly ptKind = new Uint8Array(128);
  direction: MediaDirection = 'sendrecv';
  latching = true;
  rtcpMux = false;
  /** The SDP connection address is 0.0.0.0 (old-style hold): nothing is sent to this leg. */
  addressHold = false;
  /** 'generate': never forward other legs' RTCP here, always generate our own. */
  rtcpGenerateAlways = false;
  /** SRTP: unprotects what the remote sends (its key) / protects what we send (our key). */
  srtpIn: SrtpContext | null = null;
  srtpOut: SrtpContext | null = null;
  srtpSuite = '';
  /** Last RTCP report we generated (ms, performance.now()). */
  lastRtcpGenMs = -1;
  rtcpDueMs = 0;
  rtcpGenerated = 0;
  /** We generate RTCP for this leg (refreshed by the session when routes or playback change). */
  generatesRtcp = false;
  /** SSRC of our RRs before we sent any media to this leg. */
  rrSsrc = 0;
  packetsOutAtLastReport = 0;
  /** Counters of the stream we send (for the SR we generate): packets and payload octets. */
  sentPayloadBytes = 0;

  /** The SDP connection address and port (numbers for the packet path; text made when asked). */
  readonly sdp = new NetAddr();
  hasSdp = false;
  sdpRtcpPort = 0;
  /** Where RTP is sent: the latched source, else the SDP address. */
  readonly sendTo = new NetAddr();
  hasSendTo = false;
  /** Where RTCP is sent. */
  readonly rtcpTo = new NetAddr();
  hasRtcpTo = false;
  /** The RTCP destination was learned from RTCP packets of the leg (symmetric RTCP). */
  rtcpLearned = false;
  latched = false;
  latchedSsrc = -1;
  /** After a re-INVITE announced a new address, the next packet from anywhere may re-latch. */
  relatchOpen = false;
  relatches = 0;

  routes: Route[] = [];
  readonly out = new OutStream();
  play: PlayState | null = null;

  stats: RtpSourceStats | null = null;
  lostBefore = 0;
  packetsIn = 0;
  bytesIn = 0;
  packetsOut = 0;
  bytesOut = 0;
  rtcpIn = 0;
  rtcpOut = 0;
  lastRxMs = -1;
  timedOut = false;
  readonly drops: DropCounters = {
    malformed: 0, stranger: 0, unknownPt: 0, noTelephoneEvent: 0, noDestination: 0, direction: 0, playing: 0,
    transcodeError: 0, rtcp: 0, sendError: 0, srtp: 0,
  };

  constructor(id: string, index: number, localPort: number, rtp: UdpEndpoint, rtcp: UdpEndpoint | null) {
    this.id = id;
    this.index = index;
    this.localPort = localPort;
    this.rtp = rtp;
    this.rtcp = rtcp;
  }

  get sdpAddress(): string | null {
    return this.hasSdp ? this.sdp.address : null;
  }
  get sdpPort(): number {
    return this.sdp.port;
  }
  get sendAddress(): string | null {
    return this.hasSendTo ? this.sendTo.address : null;
  }
  get sendPort(): number {
    return this.sendTo.port;
  }
  get rtcpAddress(): string | null {
    return this.hasRtcpTo ? this.rtcpTo.address : null;
  }
  get rtcpPort(): number {
    return this.rtcpTo.port;
  }

  /** Applies negotiated parameters (addLeg / updateLeg). Returns true when the remote address changed. */
  configure(o: Partial<LegOptions>): boolean {
    if (o.codecs) {
      this.codecs = o.codecs.map((c) => ({ ...c, channels: c.channels ?? 1, ptime: c.ptime ?? 20 }));
      this.audio = this.codecs.find((c) => !isTelephoneEvent(c) && !isComfortNoise(c)) ?? null;
      this.ptKind.fill(PT_KIND_NONE);
      for (const c of this.codecs) {
        this.ptKind[c.pt & 0x7f] = isTelephoneEvent(c) ? PT_KIND_TELEPHONE_EVENT : isComfortNoise(c) ? PT_KIND_CN : PT_KIND_AUDIO;
      }
    }
    if (o.direction) this.direction = o.direction;
    if (o.rtcp !== undefined) this.rtcpGenerateAlways = o.rtcp === 'generate';
    if (o.srtp !== undefined) {
      if (o.srtp === null) {
        this.srtpIn = this.srtpOut = null;
        this.srtpSuite = '';
      } else {
        const k = o.srtp;
        try {
          const extra = { ...(k.replayWindow !== undefined ? { replayWindow: k.replayWindow } : {}), ...(k.srtcpTagLength !== undefined ? { srtcpTagLength: k.srtcpTagLength } : {}) };
          const rx = SrtpContext.fromSdes(k.suite, k.remoteKey, extra);
          const tx = SrtpContext.fromSdes(k.suite, k.localKey, extra);
          this.srtpIn = rx;
          this.srtpOut = tx;
          this.srtpSuite = k.suite;
        } catch (err) {
          throw new RelayError('DPBX_ERR_RELAY_SRTP', `leg ${this.id}: ${(err as Error).message}`);
        }
      }
    }
    if (o.latching !== undefined) this.latching = o.latching;
    // rtcp-mux can be turned on later (RTCP then shares the RTP socket) but not off when no RTCP socket was bound
    if (o.rtcpMux !== undefined) this.rtcpMux = o.rtcpMux || this.rtcp === null;
    let changed = false;
    if (o.remote) {
      const r = o.remote;
      // RFC 3264 §8.4: "the old approach of setting the connection address to zero" — keep where we sent
      // before, but send nothing until a later offer/answer carries a real address again
      this.addressHold = isUnspecifiedAddress(r.address);
      if (this.addressHold) return false;
      changed = r.address !== this.sdpAddress || r.port !== this.sdpPort;
      this.sdp.set(r.address, r.port);
      this.hasSdp = true;
      const rtcpPort = r.rtcpPort ?? r.port + 1;
      // a=rtcp (RFC 3605) moved without the RTP address moving: follow it unless RTCP was learned from packets
      if (!changed && rtcpPort !== this.sdpRtcpPort && !this.rtcpMux && !this.rtcpLearned && this.sendPort === r.port) {
        this.rtcpTo.port = rtcpPort;
      }
      this.sdpRtcpPort = rtcpPort;
      if (changed) {
        // RFC 3264 §8: a new c=/m= in an offer moves the media; until its packets arrive send to the SDP address,
        // and let the next packet re-latch (the new endpoint may sit behind a NAT too)
        this.sendTo.copyFrom(this.sdp);
        this.hasSendTo = true;
        this.rtcpTo.copyFrom(this.sdp);
        this.rtcpTo.port = this.rtcpMux ? r.port : this.sdpRtcpPort;
        this.hasRtcpTo = true;
        if (this.latched) this.relatchOpen = true;
      }
    }
    return changed;
  }

  /** Sends the kind of traffic our remote expects (its direction allows it to receive). */
  get receives(): boolean {
    return !this.addressHold && (this.direction === 'sendrecv' || this.direction === 'recvonly');
  }
  /** The remote sends media (its direction allows it to send). */
  get sends(): boolean {
    return this.direction === 'sendrecv' || this.direction === 'sendonly';
  }

  /**
   * Tells the RTP endpoint where RTP goes while it is a latched source (node:dgram connects its send socket to it).
   * Before latching, after an SDP move (until the new source latches) and on hold: no peer (we never connect to
   * an address that has not sent us anything: a connected socket would report its ICMP errors).
   */
  syncTx(): void {
    const want = this.latched && !this.relatchOpen && !this.addressHold && this.hasSendTo;
    this.rtp.setPeer(want ? this.sendTo : null);
  }

  snapshot(nowMs: number): LegStats {
    return {
      id: this.id,
      localPort: this.localPort,
      latched: this.latched,
      remote: this.sendAddress ? { address: this.sendAddress, port: this.sendPort } : null,
      packetsIn: this.packetsIn,
      bytesIn: this.bytesIn,
      packetsOut: this.packetsOut,
      bytesOut: this.bytesOut,
      rtcpIn: this.rtcpIn,
      rtcpOut: this.rtcpOut,
      rtcpGenerated: this.rtcpGenerated,
      srtp: this.srtpIn && this.srtpOut
        ? {
            suite: this.srtpSuite,
            unprotected: this.srtpIn.counters.rtpUnprotected + this.srtpIn.counters.rtcpUnprotected,
            protected: this.srtpOut.counters.rtpProtected + this.srtpOut.counters.rtcpProtected,
            authFailures: this.srtpIn.counters.authFailures,
            replays: this.srtpIn.counters.replays,
          }
        : null,
      lost: this.lostBefore + (this.stats ? Math.max(0, this.stats.lost) : 0),
      jitterMs: this.stats ? Math.round(this.stats.jitterMs * 100) / 100 : 0,
      relatches: this.relatches,
      idleMs: this.lastRxMs < 0 ? -1 : Math.round(nowMs - this.lastRxMs),
      drops: { ...this.drops, sendError: this.drops.sendError + this.rtp.sendErrors + (this.rtcp ? this.rtcp.sendErrors : 0) },
    };
  }
}
