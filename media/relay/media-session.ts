/**
 * One call's media inside a worker: legs, routes between them, the per-packet path, announcements.
 *
 * Packet path (RTP, per datagram, no allocation of our own in pass-through):
 *   validate header → latch / stranger check → inbound stats (RFC 3550 A.1/A.8) → for each route:
 *   payload-type action (pass-through with PT rewrite | transcode | drop) → OutStream header rewrite in place →
 *   send to the destination's latched (or SDP) address.
 * SRTP legs unprotect in place on receive (before anything else reads the packet) and protect on send, so any
 * mix of RTP and SRTP legs bridges (RFC 3711; the SRTP path allocates the HMAC digests node:crypto returns).
 * RTCP (RFC 3550 §6) is passed through between legs whose media is passed through; towards a leg whose media we
 * transcode or play (or with `rtcp: 'generate'`) the others' RTCP is dropped (counted) and we generate SR/RR +
 * SDES for it every `rtcpIntervalMs` (randomised ×[0.5, 1.5], §6.2).
 */
import { randomInt } from 'node:crypto';
import {
  rtpHeaderLength, isRtcpPacket, rtpSsrc, rtpSeq, rtpTimestamp, rtpPayloadType, setRtpPayloadType, setRtpSeq,
  setRtpTimestamp, rtpMarker, writeRtpHeader, RtpSourceStats, serializeRtcp, ntpFromUnixMs, ntpMiddle32, SDES_CNAME,
  type RtcpPacket,
} from '../rtp/index.js';
import { loadFrames, frame, Playout, realClock, type PlayClock } from '../play/index.js';
import { RelayError } from './errors.js';
import {
  Leg, ACT_DROP_NO_TE, ACT_DROP_UNKNOWN, ACT_TRANSCODE, isComfortNoise, isTelephoneEvent, sameFormat,
  type Route, type PlayState,
} from './leg.js';
import { SOURCE_PLAY } from './out-stream.js';
import { getUdpIo, type NetAddr, type UdpEndpoint, type UdpIo } from './udp-io.js';
import type {
  CreateTranscoder, LegInfo, LegOptions, LegUpdate, PlayOptions, RelayLogger, SessionEvents, SessionStats,
  Transcoder, TranscoderCodec,
} from './types.js';

export interface SessionContext {
  bindAddress: string;
  advertisedAddress: string;
  mediaPath: string | undefined;
  socketBufferBytes: number | undefined;
  /** Loads the transcoder plugin (cached); null when none is configured. */
  transcoderFactory(): Promise<CreateTranscoder | null>;
  emit<K extends keyof SessionEvents>(sessionId: string, name: K, data: SessionEvents[K]): void;
  logger: RelayLogger | undefined;
  clock: PlayClock;
  /** Interval of generated RTCP (ms). */
  rtcpIntervalMs: number;
  /** The thread's UDP I/O (default: `getUdpIo()`, native when the addon loaded). */
  io?: UdpIo;
}

const now = (): number => performance.now();

function codecOf(c: { name: string; rate: number; channels?: number; pt: number; ptime?: number; fmtp?: string }): TranscoderCodec {
  const tc: TranscoderCodec = { name: c.name, rate: c.rate, channels: c.channels ?? 1, pt: c.pt, ptime: c.ptime ?? 20 };
  if (c.fmtp !== undefined) tc.fmtp = c.fmtp;
  return tc;
}

export class MediaSession {
  readonly id: string;
  private readonly ctx: SessionContext;
  private readonly io: UdpIo;
  readonly legs = new Map<string, Leg>();
  private nextIndex = 0;
  private closed = false;

  constructor(id: string, ctx: SessionContext) {
    this.id = id;
    this.ctx = ctx;
    this.io = ctx.io ?? getUdpIo();
  }

  // -------------------------------------------------------------------------------------------------------------
  // control
  // -------------------------------------------------------------------------------------------------------------

  async addLeg(opts: LegOptions, port: number): Promise<LegInfo> {
    if (this.closed) throw new RelayError('DPBX_ERR_RELAY_CLOSED', `session ${this.id} is closed`);
    if (this.legs.has(opts.id)) throw new RelayError('DPBX_ERR_RELAY_LEG_EXISTS', `leg ${opts.id} exists`);
    // the handlers reach the leg through this box: the leg object exists only once its sockets are bound
    const box: { leg: Leg | null } = { leg: null };
    const bufferBytes = this.ctx.socketBufferBytes;
    const address = this.ctx.bindAddress;
    const rtp = await this.io.open({
      address, port, bufferBytes, rtp: true,
      handler: (buf, len, from) => {
        if (box.leg !== null) this.onRtp(box.leg, buf, len, from);
      },
    });
    // with rtcp-mux only the RTP port is bound (port + 1 stays reserved in the pool); the choice is fixed per leg
    let rtcp: UdpEndpoint | null = null;
    if (!opts.rtcpMux) {
      try {
        rtcp = await this.io.open({
          address, port: port + 1, bufferBytes,
          handler: (buf, len, from) => {
            if (box.leg !== null) this.onRtcp(box.leg, buf, len, from);
          },
        });
      } catch (err) {
        await rtp.close();
        throw err;
      }
    }
    const leg = new Leg(opts.id, this.nextIndex++, port, rtp, rtcp);
    try {
      leg.configure(opts);
    } catch (err) {
      await rtp.close();
      if (rtcp) await rtcp.close();
      throw err;
    }
    box.leg = leg;
    this.legs.set(leg.id, leg);
    this.refreshRtcpModes();
    return { id: leg.id, localAddress: this.ctx.advertisedAddress, localPort: port, localRtcpPort: leg.rtcpMux ? port : port + 1 };
  }

  async updateLeg(id: string, upd: LegUpdate): Promise<void> {
    const leg = this.leg(id);
    leg.configure(upd);
    leg.syncTx();
    if (upd.codecs) {
      // formats changed: rebuild every route into or out of this leg
      for (const l of this.legs.values()) {
        for (let i = 0; i < l.routes.length; i++) {
          const r = l.routes[i]!;
          if (l === leg || r.dst === leg) l.routes[i] = await this.buildRoute(l, r.dst, r);
        }
      }
    }
    this.refreshRtcpModes();
  }

  /** Removes a leg; returns its port for release. */
  async removeLeg(id: string): Promise<number> {
    const leg = this.leg(id);
    for (const l of this.legs.values()) {
      const keep: Route[] = [];
      for (const r of l.routes) {
        if (l === leg || r.dst === leg) r.transcoder?.close();
        else keep.push(r);
      }
      l.routes = keep;
    }
    this.stopPlayOf(leg, 'closed');
    this.legs.delete(id);
    this.refreshRtcpModes();
    await leg.rtp.close();
    if (leg.rtcp) await leg.rtcp.close();
    return leg.localPort;
  }

  /** Media received on `from` is sent to `to` (one direction). */
  async link(from: string, to: string): Promise<void> {
    const src = this.leg(from);
    const dst = this.leg(to);
    if (src === dst) throw new RelayError('DPBX_ERR_RELAY_OPTIONS', 'cannot link a leg to itself');
    const existing = src.routes.findIndex((r) => r.dst === dst);
    const route = await this.buildRoute(src, dst, existing >= 0 ? src.routes[existing] : undefined);
    if (existing >= 0) src.routes[existing] = route;
    else src.routes = [...src.routes, route];
    this.refreshRtcpModes();
  }

  unlink(from: string, to: string): void {
    const src = this.leg(from);
    const dst = this.leg(to);
    src.routes = src.routes.filter((r) => {
      if (r.dst !== dst) return true;
      r.transcoder?.close();
      return false;
    });
    this.refreshRtcpModes();
  }

  async play(legId: string, opts: PlayOptions): Promise<{ durationMs: number }> {
    const leg = this.leg(legId);
    const audio = leg.audio;
    if (!audio) throw new RelayError('DPBX_ERR_RELAY_PLAY', `leg ${legId} has no audio codec`);
    this.stopPlayOf(leg, 'stopped');
    const name = audio.name.toUpperCase();
    const ptime = audio.ptime ?? 20;
    let transcoder: Transcoder | null = null;
    let frames;
    try {
      if ((name === 'PCMU' || name === 'PCMA') && audio.rate === 8000) {
        frames = loadFrames(opts.url, name, this.ctx.mediaPath, ptime);
      } else {
        frames = loadFrames(opts.url, 'L16', this.ctx.mediaPath, 20);
        transcoder = await this.createTranscoder(
          { name: 'L16', rate: 8000, channels: 1, pt: -1, ptime: 20 },
          codecOf(audio),
        );
      }
    } catch (err) {
      if (err instanceof RelayError) throw err;
      const e = err as { code?: string; message?: string };
      throw new RelayError('DPBX_ERR_RELAY_PLAY', `${e.code ?? ''} ${e.message ?? String(err)}`.trim());
    }
    const state: PlayState = {
      url: opts.url,
      frames,
      stopOnMedia: opts.stopOnMedia ?? true,
      transcoder,
      pt: audio.pt,
      ssrc: randomInt(0, 0xffffffff),
      seq: randomInt(0, 0xffff),
      ts: randomInt(0, 0xffffffff),
      playout: undefined as unknown as Playout,
    };
    state.playout = new Playout({
      frameCount: frames.frameCount,
      loop: opts.loop ?? false,
      ptimeMs: transcoder ? 20 : ptime,
      clock: this.ctx.clock,
      onFrame: (i, marker) => this.sendPlayFrame(leg, state, i, marker),
      onEnd: (ms) => {
        if (leg.play === state) {
          leg.play = null;
          state.transcoder?.close();
          leg.out.resetSource();
          this.refreshRtcpModes();
          this.ctx.emit(this.id, 'playbackComplete', { legId: leg.id, durationMs: ms, reason: 'end' });
        }
      },
    });
    leg.play = state;
    this.refreshRtcpModes();
    state.playout.start();
    return { durationMs: frames.durationMs };
  }

  stopPlay(legId: string): void {
    this.stopPlayOf(this.leg(legId), 'stopped');
  }

  stats(): SessionStats {
    const t = now();
    return { id: this.id, legs: [...this.legs.values()].map((l) => l.snapshot(t)) };
  }

  /** Closes everything; returns the ports to release. */
  async close(): Promise<number[]> {
    if (this.closed) return [];
    this.closed = true;
    const ports: number[] = [];
    for (const id of [...this.legs.keys()]) ports.push(await this.removeLeg(id));
    return ports;
  }

  /** Media-timeout sweep (called by the host about once a second). */
  checkTimeouts(nowMs: number, timeoutMs: number): void {
    for (const leg of this.legs.values()) {
      if (!leg.latched || leg.timedOut || !leg.sends || leg.lastRxMs < 0) continue;
      const idle = nowMs - leg.lastRxMs;
      if (idle >= timeoutMs) {
        leg.timedOut = true;
        this.ctx.emit(this.id, 'mediaTimeout', { legId: leg.id, idleMs: Math.round(idle) });
      }
    }
  }

  /**
   * RFC 3550 §6.4: a leg whose media we originate (transcoded or played) gets our own reports instead of the
   * other side's: an SR about the stream we send it (when we sent since the last report, §6.4 "a participant
   * that has sent data since the second previous report"), else an RR, with a report block about what it sends
   * us, and an SDES CNAME (§6.1: every compound packet MUST contain a CNAME). Called by the host's sweep timer.
   */
  rtcpTick(nowMs: number, wallMs: number = Date.now()): void {
    const interval = this.ctx.rtcpIntervalMs;
    if (interval <= 0) return;
    for (const leg of this.legs.values()) {
      if (!leg.generatesRtcp || !leg.hasRtcpTo || leg.addressHold) continue;
      if (leg.lastRtcpGenMs < 0) {
        // §6.2: the first report after a randomised half interval, so calls set up together do not report together
        leg.lastRtcpGenMs = nowMs - interval / 2 - Math.random() * (interval / 2);
        continue;
      }
      if (nowMs - leg.lastRtcpGenMs < leg.rtcpDueMs) continue;
      leg.lastRtcpGenMs = nowMs;
      leg.rtcpDueMs = interval * (0.5 + Math.random()); // §6.3.1: T × [0.5, 1.5]
      this.sendGeneratedRtcp(leg, nowMs, wallMs);
    }
  }

  private sendGeneratedRtcp(leg: Leg, nowMs: number, wallMs: number): void {
    const out = leg.out;
    if (!out.hasSent && leg.rrSsrc === 0) leg.rrSsrc = randomInt(1, 0xffffffff);
    const ssrc = out.hasSent ? out.ssrc : leg.rrSsrc;
    const reports = leg.stats && leg.stats.received > 0 ? [leg.stats.report(nowMs)] : [];
    const packets: RtcpPacket[] = [];
    if (out.hasSent && leg.packetsOut > leg.packetsOutAtLastReport) {
      const rate = leg.audio?.rate ?? 8000;
      const ntp = ntpFromUnixMs(wallMs);
      packets.push({
        type: 'sr', ssrc, ntpSeconds: ntp.ntpSeconds, ntpFraction: ntp.ntpFraction,
        // the RTP timestamp that corresponds to the NTP time (§6.4.1): last sent, advanced by the time since
        rtpTimestamp: (out.lastTs + Math.round(((nowMs - out.lastSentMs) * rate) / 1000)) >>> 0,
        packetCount: leg.packetsOut >>> 0, octetCount: leg.sentPayloadBytes >>> 0, reports,
      });
    } else {
      packets.push({ type: 'rr', ssrc, reports });
    }
    leg.packetsOutAtLastReport = leg.packetsOut;
    packets.push({ type: 'sdes', chunks: [{ source: ssrc, items: [{ type: SDES_CNAME, value: `dpbx-${this.id}` }] }] });
    const buf = serializeRtcp(packets);
    leg.rtcpGenerated++;
    this.sendRtcp(leg, buf, buf.length);
  }

  /** Which legs get generated RTCP: media towards them is transcoded or played, or `rtcp: 'generate'`. */
  private refreshRtcpModes(): void {
    for (const leg of this.legs.values()) leg.generatesRtcp = leg.rtcpGenerateAlways || leg.play !== null;
    for (const src of this.legs.values()) for (const r of src.routes) if (r.transcoder !== null) r.dst.generatesRtcp = true;
  }

  // -------------------------------------------------------------------------------------------------------------
  // routes
  // -------------------------------------------------------------------------------------------------------------

  private async buildRoute(src: Leg, dst: Leg, previous?: Route): Promise<Route> {
    const ptMap = new Uint8Array(128).fill(ACT_DROP_UNKNOWN);
    const teScale = new Float64Array(128).fill(1);
    let needTranscoder = false;
    for (const c of src.codecs) {
      let act = ACT_DROP_UNKNOWN;
      if (isTelephoneEvent(c)) {
        const te = dst.codecs.find((d) => isTelephoneEvent(d) && d.rate === c.rate) ?? dst.codecs.find(isTelephoneEvent);
        if (te && te.rate !== c.rate) teScale[c.pt & 0x7f] = te.rate / c.rate;
        act = te ? te.pt : ACT_DROP_NO_TE;
      } else if (isComfortNoise(c)) {
        const cn = dst.codecs.find((d) => isComfortNoise(d) && d.rate === c.rate);
        act = cn ? cn.pt : ACT_DROP_UNKNOWN;
      } else {
        const same = dst.codecs.find((d) => sameFormat(c, d));
        if (same) act = same.pt;
        else if (c === src.audio && dst.audio) {
          act = ACT_TRANSCODE;
          needTranscoder = true;
        }
      }
      ptMap[c.pt & 0x7f] = act;
    }
    const dstAudio = dst.audio;
    const rate = dstAudio?.rate ?? 8000;
    previous?.transcoder?.close();
    let transcoder: Transcoder | null = null;
    if (needTranscoder && src.audio && dstAudio) {
      transcoder = await this.createTranscoder(codecOf(src.audio), codecOf(dstAudio));
    }
    return {
      dst,
      ptMap,
      transcoder,
      rate,
      frameSamples: Math.round((rate * (dstAudio?.ptime ?? 20)) / 1000),
      dstAudioPt: dstAudio?.pt ?? 0,
      tcSeq: randomInt(0, 0xffff),
      tcTs: randomInt(0, 0xffffffff),
      teInTs: -1,
      teOutTs: 0,
      teScale,
      meta: { pt: 0, seq: 0, timestamp: 0, ssrc: 0, marker: false },
    };
  }

  private async createTranscoder(from: TranscoderCodec, to: TranscoderCodec): Promise<Transcoder> {
    const factory = await this.ctx.transcoderFactory();
    if (!factory) {
      throw new RelayError('DPBX_ERR_RELAY_NO_TRANSCODER', `${from.name}/${from.rate} → ${to.name}/${to.rate} needs a transcoder plugin (none configured)`);
    }
    let t: Transcoder | null;
    try {
      t = await factory({ from, to });
    } catch (err) {
      throw new RelayError('DPBX_ERR_RELAY_TRANSCODER', `transcoder ${from.name} → ${to.name}: ${(err as Error).message ?? err}`);
    }
    if (!t) throw new RelayError('DPBX_ERR_RELAY_TRANSCODER', `transcoder plugin does not support ${from.name} → ${to.name}`);
    return t;
  }

  private leg(id: string): Leg {
    const leg = this.legs.get(id);
    if (!leg) throw new RelayError('DPBX_ERR_RELAY_LEG_NOT_FOUND', `no leg ${id} in session ${this.id}`);
    return leg;
  }

  // -------------------------------------------------------------------------------------------------------------
  // packet path
  // -------------------------------------------------------------------------------------------------------------

  /** Latching (symmetric RTP): true when the packet may be processed. */
  private acceptSource(leg: Leg, from: NetAddr, ssrc: number): boolean {
    if (leg.latched) {
      // compared as numbers: no address text per packet
      if (from.same(leg.sendTo)) {
        if (leg.relatchOpen) this.latch(leg, from, ssrc, true); // the newly announced address itself answered
        return true;
      }
      // legitimate moves: a re-INVITE announced a new address (window open until the next packet), or the same
      // SSRC now arrives from another port/address (NAT rebinding, endpoint changed interface)
      if (leg.relatchOpen || (leg.latching && ssrc === leg.latchedSsrc)) {
        this.latch(leg, from, ssrc, true);
        return true;
      }
      leg.drops.stranger++;
      return false;
    }
    if (!leg.latching) {
      // fixed remote: only the SDP address is accepted
      if (leg.hasSdp && from.same(leg.sdp)) {
        leg.latched = true;
        leg.latchedSsrc = ssrc;
        leg.syncTx();
        return true;
      }
      leg.drops.stranger++;
      return false;
    }
    this.latch(leg, from, ssrc, false);
    return true;
  }

  private latch(leg: Leg, from: NetAddr, ssrc: number, relatch: boolean): void {
    // the one place the source's address becomes text (events, stats, node:dgram sends)
    leg.sendTo.copyFrom(from);
    leg.hasSendTo = true;
    leg.latched = true;
    leg.latchedSsrc = ssrc;
    leg.relatchOpen = false;
    if (leg.rtcpMux) {
      leg.rtcpTo.copyFrom(leg.sendTo);
      leg.hasRtcpTo = true;
    } else if (!leg.hasRtcpTo || relatch || !leg.rtcpLearned) {
      // RTCP goes to the latched address; its port is the SDP's (a=rtcp or port + 1) when the media comes from
      // the SDP address itself, else port + 1 of the latched source (RFC 3550 §11), until RTCP itself arrives
      const fromSdp = leg.hasSdp && from.same(leg.sdp);
      leg.rtcpTo.copyFrom(leg.sendTo);
      leg.rtcpTo.port = fromSdp ? leg.sdpRtcpPort : from.port + 1;
      leg.hasRtcpTo = true;
      leg.rtcpLearned = false;
    }
    if (relatch) leg.relatches++;
    leg.syncTx();
    this.ctx.emit(this.id, 'latched', { legId: leg.id, address: leg.sendTo.address, port: leg.sendTo.port, relatch });
  }

  /**
   * One datagram on a leg's RTP port: `msg[0, len)` from `from`. With native I/O `msg` is a slot of the shared
   * receive arena, valid only during this call (rewritten and sent in place, copied where it must outlive it).
   */
  onRtp(leg: Leg, msg: Buffer, len: number, from: NetAddr): void {
    leg.packetsIn++;
    leg.bytesIn += len;
    if (leg.srtpIn !== null) {
      // RFC 5761 §4: with rtcp-mux, second octet 192–223 is (S)RTCP
      if (leg.rtcpMux && len >= 2 && msg[1]! >= 192 && msg[1]! <= 223) {
        this.onRtcp(leg, msg, len, from);
        return;
      }
      // RFC 3711 §3.3: authenticate (and replay-check) before anything else; decrypted in place
      const plain = leg.srtpIn.unprotectRtp(msg, len, msg);
      if (typeof plain === 'string') {
        leg.drops.srtp++;
        return;
      }
      len = plain.length;
    }
    const hdr = rtpHeaderLength(msg, len);
    if (hdr < 0) {
      if (leg.rtcpMux && isRtcpPacket(msg, len)) this.onRtcp(leg, msg, len, from);
      else leg.drops.malformed++;
      return;
    }
    const ssrc = rtpSsrc(msg);
    const t = now();
    if (!this.acceptSource(leg, from, ssrc)) return;
    leg.lastRxMs = t;
    leg.timedOut = false;
    if (!leg.sends) {
      leg.drops.direction++;
      return;
    }
    const seq = rtpSeq(msg);
    const ts = rtpTimestamp(msg);
    let stats = leg.stats;
    if (stats === null || stats.ssrc !== ssrc) {
      if (stats) leg.lostBefore += Math.max(0, stats.lost);
      stats = leg.stats = new RtpSourceStats({ clockRate: leg.audio?.rate ?? 8000, probation: 0 });
      stats.ssrc = ssrc;
    }
    const padding = msg[0]! & 0x20 ? msg[len - 1]! : 0;
    stats.update(seq, ts, t, len - hdr - padding, ssrc);

    const routes = leg.routes;
    const n = routes.length;
    if (n === 0) {
      leg.drops.noDestination++;
      return;
    }
    for (let i = 0; i < n; i++) {
      // while forking to several legs, all but the last get a copy (each send owns its buffer)
      const buf = i === n - 1 ? msg : Buffer.from(msg.subarray(0, len));
      this.forward(leg, routes[i]!, buf, len, hdr, padding, ssrc, seq, ts, t);
    }
  }

  private forward(src: Leg, route: Route, buf: Buffer, len: number, hdr: number, padding: number, ssrc: number, seq: number, ts: number, t: number): void {
    const dst = route.dst;
    if (dst.play !== null) {
      if (dst.play.stopOnMedia) this.stopPlayOf(dst, 'media');
      else {
        src.drops.playing++;
        return;
      }
    }
    if (!dst.receives) {
      src.drops.direction++;
      return;
    }
    if (!dst.hasSendTo) {
      src.drops.noDestination++;
      return;
    }
    const pt = rtpPayloadType(buf);
    const act = route.ptMap[pt]!;
    if (act < 128) {
      if (route.transcoder !== null) {
        // telephone-event (or CN) inside a transcoded direction: renumber into the transcoder's output space;
        // all packets of one event share the event's start timestamp (RFC 4733 §2.5.1.2)
        if (ts !== route.teInTs) {
          route.teInTs = ts;
          route.teOutTs = route.tcTs;
        }
        const outSeq = route.tcSeq;
        route.tcSeq = (outSeq + 1) & 0xffff;
        setRtpSeq(buf, outSeq);
        setRtpTimestamp(buf, route.teOutTs);
        // RFC 4733 §2.3.5: the duration is in timestamp units of the event's clock — rescale when the destination
        // negotiated telephone-event at another rate (e.g. /8000 → /48000 towards an opus leg)
        const sc = route.teScale[pt]!;
        if (sc !== 1 && len - padding - hdr >= 4) {
          const d = Math.min(0xffff, Math.round(buf.readUInt16BE(hdr + 2) * sc));
          buf.writeUInt16BE(d, hdr + 2);
        }
        if (act !== pt) setRtpPayloadType(buf, act);
        dst.out.rewrite(buf, src.index, ssrc, outSeq, route.teOutTs, route.rate, route.frameSamples, t);
      } else {
        if (act !== pt) setRtpPayloadType(buf, act);
        dst.out.rewrite(buf, src.index, ssrc, seq, ts, route.rate, route.frameSamples, t);
      }
      this.sendRtp(dst, buf, len);
      return;
    }
    if (act === ACT_TRANSCODE && route.transcoder !== null) {
      const meta = route.meta;
      meta.pt = pt;
      meta.seq = seq;
      meta.timestamp = ts;
      meta.ssrc = ssrc;
      meta.marker = rtpMarker(buf);
      let frames;
      try {
        // a plugin may keep the payload (re-packetisation): never hand it a view of the reused receive arena
        const payload = buf.subarray(hdr, len - padding);
        frames = route.transcoder.transcode(this.io.transientBuffers ? Buffer.from(payload) : payload, meta);
      } catch {
        src.drops.transcodeError++;
        return;
      }
      if (!frames) return;
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!;
        const plen = f.payload.length;
        const out = Buffer.allocUnsafe(12 + plen);
        const outSeq = route.tcSeq;
        // RFC 3550 §5.1: time the transcoder skipped (silence, DTX) advances the timestamp before this frame
        const outTs = f.gapSamples ? (route.tcTs + f.gapSamples) >>> 0 : route.tcTs;
        writeRtpHeader(out, route.dstAudioPt, outSeq, outTs, ssrc, f.marker ?? (meta.marker && i === 0));
        out.set(f.payload, 12);
        route.tcSeq = (outSeq + 1) & 0xffff;
        route.tcTs = (outTs + f.durationSamples) >>> 0;
        dst.out.rewrite(out, src.index, ssrc, outSeq, outTs, route.rate, route.frameSamples, t);
        this.sendRtp(dst, out, out.length);
      }
      return;
    }
    if (act === ACT_DROP_NO_TE) src.drops.noTelephoneEvent++;
    else if (act === ACT_TRANSCODE) src.drops.transcodeError++;
    else src.drops.unknownPt++;
  }

  private sendRtp(dst: Leg, buf: Buffer, len: number): void {
    dst.sentPayloadBytes += len - 12;
    if (dst.srtpOut !== null) {
      // RFC 3711 §3.3: encrypt then authenticate; in place when the buffer has room for the tag (SRTP → SRTP)
      const p = dst.srtpOut.protectRtp(buf, len, buf);
      if (typeof p === 'string') {
        dst.drops.srtp++;
        return;
      }
      buf = p;
      len = p.length;
    }
    dst.packetsOut++;
    dst.bytesOut += len;
    // Hot path: the endpoint sends with the destination as numbers (native: queued and sent in a batch after this
    // wake-up's JS call; node:dgram: no completion callback, the connected socket towards a latched peer).
    dst.rtp.send(buf, len, dst.sendTo);
  }

  private sendRtcp(dst: Leg, buf: Buffer, len: number): void {
    if (dst.srtpOut !== null) {
      const p = dst.srtpOut.protectRtcp(buf, len);
      if (typeof p === 'string') {
        dst.drops.srtp++;
        return;
      }
      buf = p;
      len = p.length;
    }
    const sock = dst.rtcpMux || !dst.rtcp ? dst.rtp : dst.rtcp;
    dst.rtcpOut++;
    sock.send(buf, len, dst.rtcpTo);
  }

  onRtcp(leg: Leg, msg: Buffer, len: number, from: NetAddr): void {
    leg.rtcpIn++;
    if (len < 8 || msg[0]! >> 6 !== 2 || msg[1]! < 192 || msg[1]! > 223) {
      leg.drops.malformed++;
      return;
    }
    // accept RTCP from the latched media address (any port: RTCP may come from port+1 or be NATed separately)
    if (leg.latched && !from.sameHost(leg.sendTo)) {
      leg.drops.stranger++;
      return;
    }
    if (leg.srtpIn !== null) {
      const plain = leg.srtpIn.unprotectRtcp(msg, len, msg);
      if (typeof plain === 'string') {
        leg.drops.srtp++;
        return;
      }
      len = plain.length;
    }
    if (!leg.rtcpMux && (!leg.hasRtcpTo || !from.same(leg.rtcpTo))) {
      leg.rtcpTo.copyFrom(from);
      leg.hasRtcpTo = true;
    }
    if (!leg.rtcpMux) leg.rtcpLearned = true;
    // an SR from this leg: remember its NTP middle bits for the LSR/DLSR of the reports we generate (§6.4.1)
    if (msg[1] === 200 && len >= 20 && leg.stats !== null && msg.readUInt32BE(4) === leg.stats.ssrc) {
      leg.stats.onSenderReport(ntpMiddle32(msg.readUInt32BE(8), msg.readUInt32BE(12)), now());
    }
    const routes = leg.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      const dst = r.dst;
      if (r.transcoder !== null || dst.generatesRtcp || !dst.hasRtcpTo || !dst.receives) {
        leg.drops.rtcp++;
        continue;
      }
      const buf = i === routes.length - 1 ? msg : Buffer.from(msg.subarray(0, len));
      this.sendRtcp(dst, buf, len);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // announcements
  // -------------------------------------------------------------------------------------------------------------

  private sendPlayFrame(leg: Leg, st: PlayState, i: number, marker: boolean): void {
    if (!leg.hasSendTo || !leg.receives) return;
    const payload = frame(st.frames, i);
    const t = now();
    const rate = leg.audio?.rate ?? 8000;
    const frameSamples = st.frames.samplesPerFrame;
    if (st.transcoder) {
      const out = st.transcoder.transcode(payload, { pt: -1, seq: st.seq, timestamp: st.ts, ssrc: st.ssrc, marker });
      st.seq = (st.seq + 1) & 0xffff;
      if (!out) return;
      for (const f of out) {
        const buf = Buffer.allocUnsafe(12 + f.payload.length);
        writeRtpHeader(buf, st.pt, st.seq, st.ts, st.ssrc, false);
        buf.set(f.payload, 12);
        leg.out.rewrite(buf, SOURCE_PLAY, st.ssrc, st.seq, st.ts, rate, frameSamples, t);
        st.ts = (st.ts + f.durationSamples) >>> 0;
        this.sendRtp(leg, buf, buf.length);
      }
      return;
    }
    const buf = Buffer.allocUnsafe(12 + payload.length);
    writeRtpHeader(buf, st.pt, st.seq, st.ts, st.ssrc, marker);
    buf.set(payload, 12);
    leg.out.rewrite(buf, SOURCE_PLAY, st.ssrc, st.seq, st.ts, rate, frameSamples, t);
    st.seq = (st.seq + 1) & 0xffff;
    st.ts = (st.ts + frameSamples) >>> 0;
    this.sendRtp(leg, buf, buf.length);
  }

  private stopPlayOf(leg: Leg, reason: 'stopped' | 'media' | 'closed'): void {
    const st = leg.play;
    if (!st) return;
    leg.play = null;
    st.playout.stop();
    st.transcoder?.close();
    leg.out.resetSource();
    this.refreshRtcpModes();
    this.ctx.emit(this.id, 'playbackComplete', { legId: leg.id, durationMs: st.playout.framesPlayed * 20, reason });
  }
}

export { realClock };
