/**
 * One leg of a media session inside a worker: its sockets, negotiated formats, latching state, the stream we
 * send to it, and its counters. Owned by MediaSession, which runs the packet path.
 */
import type { Socket } from 'node:dgram';
import { RtpSourceStats } from '../rtp/index.js';
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
  readonly rtp: Socket;
  readonly rtcp: Socket | null;

  codecs: CodecSpec[] = [];
  audio: CodecSpec | null = null;
  /** PT → kind (PT_KIND_*) for the formats negotiated on this leg. */
  readonly ptKind = new Uint8Array(128);
  direction: MediaDirection = 'sendrecv';
  latching = true;
  rtcpMux = false;

  sdpAddress: string | null = null;
  sdpPort = 0;
  sdpRtcpPort = 0;
  /** Where RTP is sent: the latched source, else the SDP address. */
  sendAddress: string | null = null;
  sendPort = 0;
  rtcpAddress: string | null = null;
  rtcpPort = 0;
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
    transcodeError: 0, rtcp: 0, sendError: 0,
  };

  constructor(id: string, index: number, localPort: number, rtp: Socket, rtcp: Socket | null) {
    this.id = id;
    this.index = index;
    this.localPort = localPort;
    this.rtp = rtp;
    this.rtcp = rtcp;
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
    if (o.latching !== undefined) this.latching = o.latching;
    // rtcp-mux can be turned on later (RTCP then shares the RTP socket) but not off when no RTCP socket was bound
    if (o.rtcpMux !== undefined) this.rtcpMux = o.rtcpMux || this.rtcp === null;
    let changed = false;
    if (o.remote) {
      const r = o.remote;
      changed = r.address !== this.sdpAddress || r.port !== this.sdpPort;
      this.sdpAddress = r.address;
      this.sdpPort = r.port;
      this.sdpRtcpPort = r.rtcpPort ?? r.port + 1;
      if (changed) {
        // RFC 3264 §8: a new c=/m= in an offer moves the media; until its packets arrive send to the SDP address,
        // and let the next packet re-latch (the new endpoint may sit behind a NAT too)
        this.sendAddress = r.address;
        this.sendPort = r.port;
        this.rtcpAddress = r.address;
        this.rtcpPort = this.rtcpMux ? r.port : this.sdpRtcpPort;
        if (this.latched) this.relatchOpen = true;
      }
    }
    return changed;
  }

  /** Sends the kind of traffic our remote expects (its direction allows it to receive). */
  get receives(): boolean {
    return this.direction === 'sendrecv' || this.direction === 'recvonly';
  }
  /** The remote sends media (its direction allows it to send). */
  get sends(): boolean {
    return this.direction === 'sendrecv' || this.direction === 'sendonly';
  }

  onSendError = (err: Error | null): void => {
    if (err) this.drops.sendError++;
  };

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
      lost: this.lostBefore + (this.stats ? Math.max(0, this.stats.lost) : 0),
      jitterMs: this.stats ? Math.round(this.stats.jitterMs * 100) / 100 : 0,
      relatches: this.relatches,
      idleMs: this.lastRxMs < 0 ? -1 : Math.round(nowMs - this.lastRxMs),
      drops: { ...this.drops },
    };
  }
}
