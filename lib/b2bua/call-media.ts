/**
 * CallMedia: the MediaControl of one call over a relay session (media/relay) and SDP offer/answer (media/sdp).
 *
 * Each leg is negotiated on its own (the B2BUA owns both SDP sessions):
 *   - the caller's offer is answered with the first codec of the caller's allowed list it offers (our order wins);
 *   - a callee is offered its own allowed codecs, the caller's chosen codec first so that pass-through is likely;
 *   - when the two legs end up with different codecs the relay transcodes (codecs/relay-transcoder plugin);
 *   - an opus leg that can only be transcoded to a narrow/wide-band codec is told so in its fmtp (RFC 7587 §6.1
 *     maxplaybackrate / sprop-maxcapturerate at that codec's rate, see `opusBandLimit`): in a callee's offer when
 *     the caller's codec is not opus (opus is then chosen only if transcoded), in our answers to re-offers on a
 *     leg bridged to a non-opus leg and in our offer in a 2xx (offerInResponse) when the other leg is not opus.
 *     The caller's first answer cannot say it: it goes out (183) before any callee is dialled; a leg bridged
 *     opus ↔ opus never gets it.
 * Bad SDP throws SdpError (the SIP binding maps it to 488).
 *
 * An INVITE without SDP (a late-offer caller, or a re-INVITE asking for our offer) gets our offer in the 2xx
 * (offerInResponse) and its answer comes in the ACK (answerFromAck); until then the leg has no remote and the
 * relay sends nothing to it.
 */
import { findCodec, listCodecs, opusBandLimit } from '../../codecs/index.js';
import type { MediaSessionHandle, CodecSpec, LegOptions } from '../../media/relay/index.js';
import {
  answerOffer,
  mergeFmtp,
  parseSdp,
  processAnswer,
  SdpError,
  SdpLocalSession,
  type SdpCodecPreference,
  type SdpDirection,
  type SdpNegotiatedAudio,
  type SessionDescription,
} from '../../media/sdp/index.js';
import type { LegRef, MediaControl, PlaybackResult } from '../call/index.js';
import type { Logger } from '../log.js';

// Codec availability is a property of the process (wasm files, native addon), found by file-system probes in
// listCodecs(): asked once, not twice per call (it was a hot spot in bench/call-rate.js).
let usableCodecs: Set<string> | undefined;
/**
 * codecPreferences() results by codec list: every call asks for the same few lists (a trunk's, a client's), and
 * building the entries (registry lookups, fmtp strings) three times per call showed in bench/call-rate.js. The
 * entries are frozen: callers derive new ones (withOpusBandLimit) instead of changing them.
 */
const preferenceCache = new Map<string, readonly SdpCodecPreference[]>();
const PREFERENCE_CACHE_MAX = 256;

/** SDP preference entries for canonical codec names (those this process cannot run are left out). */
export function codecPreferences(names: readonly string[]): SdpCodecPreference[] {
  const key = names.join('\n');
  const cached = preferenceCache.get(key);
  if (cached) return cached as SdpCodecPreference[];
  const out = buildPreferences(names);
  if (preferenceCache.size >= PREFERENCE_CACHE_MAX) preferenceCache.delete(preferenceCache.keys().next().value!);
  preferenceCache.set(key, Object.freeze(out.map((p) => Object.freeze(p))));
  return preferenceCache.get(key) as SdpCodecPreference[];
}

function buildPreferences(names: readonly string[]): SdpCodecPreference[] {
  const usable = (usableCodecs ??= new Set(listCodecs().map((c) => c.name.toUpperCase())));
  const out: SdpCodecPreference[] = [];
  for (const name of names) {
    const info = findCodec(name);
    if (!info || !usable.has(info.name.toUpperCase()) || info.name === 'L16') continue;
    const fmtp = Object.entries(info.fmtp).map(([k, v]) => `${k}=${v}`).join(';');
    out.push({
      name: info.name,
      clockRate: info.clockRate,
      ...(info.sdpChannels > 1 ? { channels: info.sdpChannels } : {}),
      ...(fmtp ? { fmtp } : {}),
      ...(info.payloadType !== undefined ? { payloadType: info.payloadType } : {}),
    });
  }
  return out;
}

/**
 * `prefs` with the opus entries narrowed for a leg transcoded to/from codec `other` (RFC 7587 §6.1), in our offer
 * (`fmtp`) and in our answer (`answerFmtp`, merged into the echoed offer fmtp). Unchanged when `other` is
 * undefined, opus or full-band.
 */
export function withOpusBandLimit(prefs: SdpCodecPreference[], other: string | undefined): SdpCodecPreference[] {
  const limit = other !== undefined ? opusBandLimit(other) : undefined;
  if (!limit) return prefs;
  const extra = Object.entries(limit).map(([k, v]) => `${k}=${v}`).join(';');
  return prefs.map((p) => (p.name.toLowerCase() === 'opus' ? { ...p, fmtp: mergeFmtp(p.fmtp, extra), answerFmtp: extra } : p));
}

/** Relay leg codecs from a negotiated stream: the audio codec, then telephone-event when agreed. */
export function relayCodecs(audio: SdpNegotiatedAudio): CodecSpec[] {
  const c = audio.codec;
  const codecs: CodecSpec[] = [
    {
      pt: c.payloadType,
      name: c.name,
      rate: c.clockRate,
      ...(c.channels > 1 ? { channels: c.channels } : {}),
      ...(audio.ptime ? { ptime: audio.ptime } : {}),
      ...(c.fmtp ? { fmtp: c.fmtp } : {}),
    },
  ];
  if (audio.telephoneEvent) {
    codecs.push({ pt: audio.telephoneEvent.payloadType, name: 'telephone-event', rate: audio.telephoneEvent.clockRate });
  }
  return codecs;
}

/** `names` with `first` moved to the front when it is among them (case-insensitive). */
function moveFirst(names: readonly string[], first: string): readonly string[] {
  const f = first.toUpperCase();
  if (!names.some((n) => n.toUpperCase() === f)) return names;
  return [first, ...names.filter((n) => n.toUpperCase() !== f)];
}

function legUpdateFrom(audio: SdpNegotiatedAudio): Omit<LegOptions, 'id'> {
  return {
    remote: { address: audio.remoteAddress, port: audio.remotePort, rtcpPort: audio.remoteRtcpPort },
    codecs: relayCodecs(audio),
    rtcpMux: audio.rtcpMux,
    direction: audio.remoteDirection,
  };
}

interface LegState {
  sdp: SdpLocalSession;
  port: number;
  /** Our last SDP for this leg (the answer to the caller, the offer to a callee). */
  local?: string;
  /** Our pending offer, until the answer comes. */
  offer?: SessionDescription;
  audio?: SdpNegotiatedAudio;
  ringback?: boolean;
  /** Our offer went in a 2xx (an INVITE without SDP): the answer comes in the ACK (RFC 3261 §13.2.1). */
  answerInAck?: boolean;
  /** A caller that sent no SDP (prepareLeg): no media towards it before the ACK. */
  late?: boolean;
  /** The leg this one is bridged to (bridge()), whose codec decides the opus band limit of our SDP. */
  peer?: string;
  /** Before a bridge: the codec of the leg this one was offered against (createOffer's `first`). */
  offeredAgainst?: string;
}

export interface CallMediaOptions {
  /** Address written into SDP (PUBLIC_IP). */
  address: string;
  logger?: Logger;
}

export class CallMedia implements MediaControl {
  private readonly legs = new Map<string, LegState>();
  private closed = false;

  constructor(readonly session: MediaSessionHandle, private readonly opts: CallMediaOptions) {}

  /** The codec the leg agreed on (undefined before negotiation). */
  negotiated(leg: LegRef): SdpNegotiatedAudio | undefined {
    return this.legs.get(leg.id)?.audio;
  }

  /**
   * The caller's offer: adds the leg and returns our answer. Throws SdpError when no allowed codec is offered.
   */
  async answerOffer(leg: LegRef, offerText: string, allowed: readonly string[]): Promise<string> {
    const offer = parseSdp(offerText);
    const prefs = withOpusBandLimit(codecPreferences(allowed), this.otherCodec(leg.id));
    if (prefs.length === 0) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'no usable codec is allowed for this leg');
    if (!this.legs.has(leg.id)) {
      // A new leg: negotiate first (the result does not depend on our port) so the relay leg is added with its
      // remote address and codecs in one worker round trip instead of addLeg + updateLeg (bench/call-rate.js).
      // The negotiation is done once: our port only goes into the accepted audio m-line of the answer.
      const { media, audio } = answerOffer(offer, { port: 9, codecs: prefs, rtcpMux: true });
      if (!audio) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'no audio stream could be accepted');
      const state = await this.ensureLeg(leg.id, legUpdateFrom(audio));
      media[audio.mediaIndex]!.port = state.port;
      state.audio = audio;
      state.local = state.sdp.describeText(media).text;
      return state.local;
    }
    const state = await this.ensureLeg(leg.id);
    const { audio, text } = state.sdp.createAnswer(offer, { port: state.port, codecs: prefs, rtcpMux: true });
    if (!audio) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'no audio stream could be accepted');
    state.audio = audio;
    await this.session.updateLeg(leg.id, legUpdateFrom(audio));
    state.local = text;
    return state.local;
  }

  /** A callee leg: adds it and returns our offer. `first` (e.g. the caller's codec) is moved to the front. */
  async createOffer(leg: LegRef, allowed: readonly string[], first?: string): Promise<string> {
    // `first` is the codec of the leg this one will be bridged to: when it is not opus, an opus answer from the
    // callee means a transcoded leg, so the opus entry carries the band limit (an opus caller gets none: opus is
    // then first and pass-through).
    const prefs = withOpusBandLimit(codecPreferences(first ? moveFirst(allowed, first) : allowed), first);
    if (prefs.length === 0) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'no usable codec is allowed for this leg');
    const state = await this.ensureLeg(leg.id);
    if (first !== undefined) state.offeredAgainst = first;
    const { offer, text } = state.sdp.createOfferText({ port: state.port, codecs: prefs, rtcpMux: true });
    state.offer = offer;
    state.local = text;
    return state.local;
  }

  /**
   * A caller whose INVITE has no SDP (late offer): its relay leg is added now (no remote yet, so nothing is sent
   * to it), our offer goes in the 2xx (offerInResponse) and the answer comes in the ACK. Throws SdpError when
   * none of `allowed` can run here (→ 488, as for an offer with no usable codec).
   */
  async prepareLeg(leg: LegRef, allowed: readonly string[]): Promise<void> {
    if (codecPreferences(allowed).length === 0) throw new SdpError('DPBX_ERR_SDP_NO_COMMON_CODEC', 'no usable codec is allowed for this leg');
    (await this.ensureLeg(leg.id)).late = true;
  }

  /**
   * Our offer for a 2xx to an INVITE without SDP: the leg's allowed codecs with the codec already in use first
   * (the leg's own, else another leg's: pass-through is then likely). The leg waits for its answer in the ACK.
   * undefined when the leg has no relay leg (closed call) or none of its codecs can run here.
   */
  offerInResponse(leg: LegRef, allowed: readonly string[]): string | undefined {
    const state = this.legs.get(leg.id);
    if (!state || this.closed) return undefined;
    let current = state.audio?.codec.name;
    let otherLeg: string | undefined;
    for (const [id, other] of this.legs) if (id !== leg.id && other.audio) otherLeg = other.audio.codec.name;
    current ??= otherLeg;
    // the band limit follows the codec of the leg this one is (or will be) bridged to, as in createOffer
    const prefs = withOpusBandLimit(codecPreferences(current ? moveFirst(allowed, current) : allowed), this.otherCodec(leg.id) ?? otherLeg);
    if (prefs.length === 0) return undefined;
    const { offer, text } = state.sdp.createOfferText({ port: state.port, codecs: prefs, rtcpMux: true });
    state.offer = offer;
    state.local = text;
    state.answerInAck = true;
    return state.local;
  }

  /** True while `leg` owes us the answer to an offerInResponse in its ACK. */
  awaitsAckAnswer(leg: LegRef): boolean {
    return this.legs.get(leg.id)?.answerInAck === true;
  }

  /** The answer carried by the ACK (empty: none, an error). Throws SdpError when it is missing or unusable. */
  async answerFromAck(leg: LegRef, answerText: string): Promise<SdpNegotiatedAudio> {
    const state = this.legs.get(leg.id);
    if (!state?.answerInAck) throw new SdpError('DPBX_ERR_SDP_ANSWER_MISMATCH', `no offer in a 2xx is pending on leg ${leg.id}`);
    state.answerInAck = false;
    if (!answerText.trim()) throw new SdpError('DPBX_ERR_SDP_ANSWER_MISMATCH', 'the ACK carries no SDP answer');
    return this.acceptAnswer(leg, answerText);
  }

  /** The callee's answer to our offer. Throws SdpError when it is unusable. */
  async acceptAnswer(leg: LegRef, answerText: string): Promise<SdpNegotiatedAudio> {
    const state = this.legs.get(leg.id);
    if (!state?.offer) throw new SdpError('DPBX_ERR_SDP_ANSWER_MISMATCH', `no offer is pending on leg ${leg.id}`);
    const audio = processAnswer(state.offer, parseSdp(answerText));
    state.audio = audio;
    await this.session.updateLeg(leg.id, legUpdateFrom(audio));
    return audio;
  }

  /**
   * A re-INVITE/UPDATE offer on an established leg (hold, unhold, new address or codec): answered with the same
   * codec list as the first answer; the relay leg follows.
   */
  async reoffer(leg: LegRef, offerText: string, allowed: readonly string[]): Promise<string> {
    return this.answerOffer(leg, offerText, allowed);
  }

  /**
   * Our re-offer to `leg` relaying the other party's hold/resume (RFC 3264 §8.4): the leg's last SDP with the
   * direction set to `direction`. It goes through the leg's SdpLocalSession so the o= version is incremented when
   * the SDP changed (RFC 3264 §8: "the version number in the o= line MUST be incremented"); a phone that sees the
   * old version takes it for an unchanged session and does not go on hold. undefined before the leg has an SDP.
   */
  directionOffer(leg: LegRef, direction: SdpDirection): string | undefined {
    const state = this.legs.get(leg.id);
    if (!state?.local) return undefined;
    const directions = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);
    const media = parseSdp(state.local).media.map((m) => {
      const attributes = m.attributes.filter((a) => !directions.has(a.name));
      return { ...m, attributes: [...attributes, { name: direction }] };
    });
    state.local = state.sdp.describeText(media).text;
    return state.local;
  }

  /** The codec of the leg `id` is (or will be) bridged to, when known. */
  private otherCodec(id: string): string | undefined {
    const state = this.legs.get(id);
    if (!state) return undefined;
    if (state.peer !== undefined) return this.legs.get(state.peer)?.audio?.codec.name;
    return state.offeredAgainst;
  }

  /** The leg's state; a new leg is added to the relay with `initial` (default: PCMU until its SDP is known). */
  private async ensureLeg(id: string, initial?: Omit<LegOptions, 'id'>): Promise<LegState> {
    if (this.closed) throw new SdpError('DPBX_ERR_SDP_BAD_VALUE', 'the media session is closed');
    let state = this.legs.get(id);
    if (state) return state;
    const info = await this.session.addLeg({ id, ...(initial ?? { codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }) });
    state = { sdp: new SdpLocalSession({ address: this.opts.address }), port: info.localPort };
    this.legs.set(id, state);
    return state;
  }

  /**
   * Mute: the relay stops forwarding what `legId` sends (its remote direction becomes recvonly); unmute restores
   * the direction its SDP gave. Returns false when the leg has no negotiated media.
   */
  async mute(legId: string, on: boolean): Promise<boolean> {
    const state = this.legs.get(legId);
    if (!state?.audio) return false;
    await this.session.updateLeg(legId, { direction: on ? 'recvonly' : state.audio.remoteDirection });
    return true;
  }

  /** Ids of the legs with negotiated media. */
  legIds(): string[] {
    return [...this.legs.entries()].filter(([, s]) => s.audio).map(([id]) => id);
  }

  // ------------------------------------------------------------------ MediaControl

  localSdp(leg: LegRef): string | undefined {
    return this.legs.get(leg.id)?.local;
  }

  async playRingback(leg: LegRef, tone: string): Promise<void> {
    const state = this.legs.get(leg.id);
    if (!state?.audio) return; // no negotiated media towards this leg: nothing to play into
    state.ringback = true;
    await this.session.play(leg.id, { url: tone, loop: true, stopOnMedia: true });
    // The engine does not wait for the tone to start (it dials meanwhile): a stop that came while the relay was
    // still starting it (a transcoded tone starts asynchronously) may have found nothing to stop yet.
    if (!state.ringback && !this.closed) {
      this.session.stopPlay(leg.id).catch((err) => this.opts.logger?.debug({ err: String(err) }, 'stopRingback'));
    }
  }

  stopRingback(leg: LegRef): void {
    const state = this.legs.get(leg.id);
    if (!state?.ringback) return;
    state.ringback = false;
    this.session.stopPlay(leg.id).catch((err) => this.opts.logger?.debug({ err: String(err) }, 'stopRingback'));
  }

  async play(leg: LegRef, url: string, signal: AbortSignal): Promise<PlaybackResult> {
    const state = this.legs.get(leg.id);
    if (!state?.audio) {
      const why = state?.late ? 'sent no SDP offer (no media before its ACK answers ours)' : 'has no negotiated media';
      throw new SdpError('DPBX_ERR_SDP_BAD_VALUE', `leg ${leg.id} ${why}`);
    }
    const started = Date.now();
    return new Promise<PlaybackResult>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.session.off('playbackComplete', onComplete);
        this.session.off('playbackFailed', onFailed);
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onComplete = (e: { legId: string; durationMs: number }) => {
        if (e.legId === leg.id) finish(() => resolve({ durationMs: e.durationMs }));
      };
      const onFailed = (e: { legId: string; error: { code: string; message: string } }) => {
        if (e.legId === leg.id) finish(() => reject(new Error(`${e.error.code}: ${e.error.message}`)));
      };
      const onAbort = () => {
        this.session.stopPlay(leg.id).catch(() => {});
        finish(() => resolve({ durationMs: Date.now() - started }));
      };
      this.session.on('playbackComplete', onComplete);
      this.session.on('playbackFailed', onFailed);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.session.play(leg.id, { url, loop: false, stopOnMedia: false }).catch((err: unknown) => finish(() => reject(err)));
    });
  }

  async bridge(a: LegRef, b: LegRef): Promise<void> {
    // Both directions at once: one worker message (the relay batches a turn's requests), not two round trips.
    await Promise.all([this.session.link(a.id, b.id), this.session.link(b.id, a.id)]);
    const sa = this.legs.get(a.id);
    const sb = this.legs.get(b.id);
    if (sa) sa.peer = b.id;
    if (sb) sb.peer = a.id;
  }

  unbridge(leg: LegRef): void {
    const state = this.legs.get(leg.id);
    if (state?.peer !== undefined) {
      const p = this.legs.get(state.peer);
      if (p?.peer === leg.id) delete p.peer;
      delete state.peer;
    }
    for (const other of this.legs.keys()) {
      if (other === leg.id) continue;
      this.session.unlink(leg.id, other).catch(() => {});
      this.session.unlink(other, leg.id).catch(() => {});
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The SDP state goes too: the call's SIP objects (which reach this object) outlive the call by up to 32 s.
    this.legs.clear();
    this.session.close().catch((err) => this.opts.logger?.warn({ err: String(err) }, 'media session close failed'));
  }
}
