/**
 * CallBinding: binds the call engine (lib/call) to SIP (sip-stack/ua) and media (media/relay via CallMedia).
 *
 * A new INVITE for a served domain:
 *   1. source identification (SPEC §6): a trunk by source CIDR first, else client digest auth (registrar rules);
 *   2. dialplan lookup on the dialled number (most specific pattern; no match → 404);
 *   3. the caller's SDP offer answered by the relay (488 when nothing fits); an INVITE without SDP (late offer)
 *      gets our offer in the 200 and its answer comes in the ACK (no early media for it: 180 without SDP);
 *   4. engine.startCall() with an InboundLeg over the UasInvite, a Dialer over UserAgent.invite(), and CallMedia.
 * Mid-call: BYE from either side ends both (through the engine), re-INVITE/UPDATE answered from the relay and
 * relayed to the other leg as our own re-offer, INFO relayed, REFER handed to the engine (202 + NOTIFY sipfrag).
 */
import { randomUUID } from 'node:crypto';
import type { MediaSessionHandle, Relay } from '../../media/relay/index.js';
import { SdpError } from '../../media/sdp/index.js';
import type { IncomingRequest, Session, UacInvite, UasInvite, UserAgent, SendTarget } from '../../sip-stack/index.js';
import {
  formatReason,
  TypedEmitter,
  type CallEngine,
  type CallInfo,
  type CancelReason,
  type DialOptions,
  type Dialer,
  type DialTarget,
  type InboundLeg,
  type OutboundAttempt,
  type OutboundAttemptEvents,
} from '../call/index.js';
import { findDomain, matchDialplan, matchTrunkBySource, type Client, type Config, type Dialplan, type Trunk } from '../config/index.js';
import type { Logger } from '../log.js';
import { parseRegHookReply, type Registrar } from '../registrar/index.js';
import { CallMedia } from './call-media.js';

export interface CallBindingOptions {
  ua: UserAgent;
  engine: CallEngine;
  relay: Relay;
  registrar: Registrar;
  config: () => Config | undefined;
  /** PUBLIC_IP: written into SDP. */
  publicIp: string;
  defaultCodecs: readonly string[];
  logger: Logger;
}

export interface BindingCounters {
  invites: number;
  trunkCalls: number;
  clientCalls: number;
  authChallenges: number;
  noRoute: number;
  badSdp: number;
  /** INVITEs without SDP (our offer went in the 200). */
  lateOffers: number;
  mediaUnavailable: number;
  reinvites: number;
  refers: number;
  infos: number;
  errors: number;
}

/** Run `fn`, log what it throws; for UA calls made in states where they may legitimately fail. */
function attempt(log: Logger, what: string, fn: () => unknown): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch((err: unknown) => log.debug({ err: String(err), what }, 'SIP action failed'));
  } catch (err) {
    log.debug({ err: String(err), what }, 'SIP action failed');
  }
}

/** A leg's dialog (Session) seen by the other leg for mid-call relaying. */
interface PeerLeg {
  readonly id: string;
  session: Session | undefined;
  codecs: readonly string[];
  /**
   * The call has ended: forget the engine's listeners. The SIP objects of a call outlive it (RFC 3261 keeps
   * transactions up to 32 s for retransmissions) and hold the binding's closures; without this they kept the
   * whole engine side of every call (executor, connect run, call record) alive that long, tens of kB per call,
   * which under load was most of the heap and of the GC work (bench/call-rate.js).
   */
  release(): void;
  /** Media could not be set up after the dialog was confirmed (no answer in the ACK): BYE with `reason`. */
  noMedia?(reason: string): void;
}

class InboundSipLeg implements InboundLeg, PeerLeg {
  readonly id = 'A';
  session: Session | undefined;
  private readonly cancelListeners: Array<(reason?: string) => void> = [];
  private readonly hangupListeners: Array<() => void> = [];
  private ended = false;

  constructor(
    private readonly uas: UasInvite,
    private readonly media: CallMedia,
    readonly codecs: readonly string[],
    private readonly log: Logger,
    private readonly onSession: (s: Session) => void,
    /** The INVITE had no SDP: our offer goes in the 200, the answer comes in the ACK. */
    private readonly lateOffer = false,
  ) {
    uas.on('cancelled', this.onCancelled);
  }

  private readonly onCancelled = (req: { get(name: string): string | undefined }): void => {
    const reason = req.get('Reason');
    for (const fn of this.cancelListeners) fn(reason);
  };

  get isAnswered(): boolean {
    return this.session !== undefined;
  }

  early(sdp?: string): void {
    // A late-offer caller: an offer may not go in an unreliable provisional (RFC 3261 §13.2.1), so 180 only.
    if (this.lateOffer) sdp = undefined;
    attempt(this.log, 'early', () => this.uas.progress(sdp ? 183 : 180, sdp ? { body: sdp } : {}));
  }

  answer(sdp?: string): void {
    if (this.session) return;
    const body = this.lateOffer ? this.media.offerInResponse(this, this.codecs) : (sdp ?? this.media.localSdp(this));
    this.session = this.uas.accept(body !== undefined ? { body } : {});
    this.session.on('terminated', () => this.remoteEnded());
    this.onSession(this.session);
  }

  private remoteEnded(): void {
    if (this.ended) return;
    this.ended = true;
    for (const fn of this.hangupListeners) fn();
  }

  reject(code: number, reason: string, headers?: Record<string, string>): void {
    this.uas.reject(code, { reason, ...(headers ? { headers } : {}) });
  }

  hangup(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.session) attempt(this.log, 'bye caller', () => this.session!.bye());
    else attempt(this.log, 'reject caller', () => this.uas.reject(480, { reason: 'Temporarily Unavailable' }));
  }

  /** Hung up by the PBX itself (management API): BYE, then the engine hears it like a caller BYE. */
  dropByApi(): void {
    this.endWith();
  }

  /** The late offer's ACK brought no usable answer: BYE with that reason, the engine hears a caller hangup. */
  noMedia(reason: string): void {
    this.endWith(reason);
  }

  private endWith(reason?: string): void {
    if (this.ended || !this.session) return;
    this.ended = true;
    attempt(this.log, 'bye caller', () => this.session!.bye(reason ? { reason } : {}));
    for (const fn of this.hangupListeners) fn();
  }

  onCancel(listener: (reason?: string) => void): void {
    this.cancelListeners.push(listener);
  }

  onHangup(listener: () => void): void {
    this.hangupListeners.push(listener);
  }

  release(): void {
    this.cancelListeners.length = 0;
    this.hangupListeners.length = 0;
    // The UasInvite stays up to 64*T1 for retransmissions: it must not keep this leg (and the call's closures).
    this.uas.off('cancelled', this.onCancelled);
  }
}

class OutboundSipLeg extends TypedEmitter<OutboundAttemptEvents> implements OutboundAttempt, PeerLeg {
  session: Session | undefined;
  private inv: UacInvite | undefined;
  private cancelled: CancelReason | undefined;
  private hungUp = false;
  private finished = false;
  private released = false;
  private unwire: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly codecs: readonly string[],
    private readonly log: Logger,
  ) {
    super();
  }

  /** Starts the INVITE once our SDP offer exists (dial() must return at once). */
  begin(make: () => Promise<UacInvite>, media: CallMedia, onSession: (s: Session) => void): void {
    make().then(
      (inv) => {
        this.inv = inv;
        if (this.cancelled) inv.cancel(formatReason(this.cancelled));
        if (this.released) {
          // The call ended while the INVITE was being built: nobody listens any more (a CANCEL went out above
          // when the engine hung up; a late 2xx is ACKed and BYEd by the UacInvite itself).
          return;
        }
        const unwire: Array<() => void> = [];
        const on: UacInvite['on'] = (event, fn) => {
          inv.on(event, fn);
          unwire.push(() => inv.off(event, fn));
          return inv;
        };
        this.unwire = () => unwire.forEach((fn) => fn());
        on('trying', () => this.emit('trying'));
        on('progress', (res) => {
          const sdp = res.body.length > 0 && /application\/sdp/i.test(res.get('Content-Type') ?? '') ? res.body.toString('utf8') : undefined;
          if (!sdp) return this.emit('ringing');
          media.acceptAnswer(this, sdp).then(
            () => this.emit('early-media'),
            (err: unknown) => {
              this.log.info({ err: String(err), leg: this.id }, 'unusable early-media SDP ignored');
              this.emit('ringing');
            },
          );
        });
        on('accepted', (session, res) => {
          this.session = session;
          session.on('terminated', () => {
            if (!this.hungUp) {
              this.hungUp = true;
              this.emit('hangup');
            }
          });
          onSession(session);
          const sdp = res.body.length > 0 ? res.body.toString('utf8') : undefined;
          if (!sdp) {
            // We always offer; a 2xx without an answer is a protocol error: end it (RFC 3264 §5).
            this.finished = true;
            attempt(this.log, 'bye no-sdp', () => session.bye({ reason: 'SIP;cause=488;text="No SDP answer"' }));
            return this.emit('failed', 488, 'Not Acceptable Here');
          }
          media.acceptAnswer(this, sdp).then(
            () => {
              this.finished = true;
              this.emit('answered');
            },
            (err: unknown) => {
              this.finished = true;
              this.log.info({ err: String(err), leg: this.id }, 'unusable SDP answer: call leg ended');
              attempt(this.log, 'bye bad-sdp', () => session.bye({ reason: 'SIP;cause=488;text="Not Acceptable Here"' }));
              this.emit('failed', 488, 'Not Acceptable Here');
            },
          );
        });
        on('failed', (status, reason, res) => {
          this.finished = true;
          // A local 408 is Timer B: no final response from the callee at all.
          if (status === 408 && res === undefined) return this.emit('timeout');
          this.emit('failed', status, reason);
        });
      },
      (err: unknown) => {
        this.finished = true;
        const status = err instanceof SdpError ? 488 : 503;
        this.log.info({ err: String(err), leg: this.id }, 'outbound INVITE not sent');
        setImmediate(() => this.emit('failed', status, status === 488 ? 'Not Acceptable Here' : 'Service Unavailable'));
      },
    );
  }

  cancel(reason?: CancelReason): void {
    if (this.finished || this.cancelled) return;
    this.cancelled = reason ?? { protocol: 'SIP', cause: 487, text: 'Request Terminated' };
    this.inv?.cancel(formatReason(this.cancelled));
  }

  hangup(reason?: CancelReason): void {
    if (this.hungUp) return;
    this.hungUp = true;
    if (this.session) attempt(this.log, 'bye callee', () => this.session!.bye(reason ? { reason: formatReason(reason) } : {}));
    else this.cancel(reason);
  }

  /** Hung up by the PBX itself (management API): BYE, then the engine hears it like a callee BYE. */
  dropByApi(): void {
    if (this.hungUp || !this.session) return;
    this.hangup();
    this.emit('hangup');
  }

  release(): void {
    this.removeAllListeners();
    // The UacInvite stays up to 64*T1 (2xx retransmissions): it must not keep this leg and the call's closures.
    this.released = true;
    this.unwire?.();
    this.unwire = undefined;
  }
}

/** Where a dial target is sent: Request-URI, To, destination flow and credentials. */
function routeOf(target: DialTarget): { uri: string; to: string; destination?: SendTarget; auth?: { username: string; password: string } } {
  switch (target.kind) {
    case 'client': {
      const flow = target.contact.flow;
      const destination: SendTarget | undefined = flow
        ? {
            transport: (flow.transport.toLowerCase() === 'tcp' || flow.transport.toLowerCase() === 'tls' ? flow.transport.toLowerCase() : 'udp') as SendTarget['transport'],
            address: flow.address,
            port: flow.port,
            ...(flow.connectionId ? { connectionId: flow.connectionId } : {}),
          }
        : undefined;
      return { uri: target.contact.uri, to: `<sip:${target.user}@${target.domain}>`, ...(destination ? { destination } : {}) };
    }
    case 'trunk': {
      const o = target.trunk.outbound;
      if (!o) throw new SdpError('DPBX_ERR_SDP_BAD_VALUE', `trunk ${target.trunk.name} has no outbound settings`);
      const transport = o.transport === 'udp' ? '' : `;transport=${o.transport}`;
      const uri = `sip:${target.number}@${o.host}:${o.port}${transport}`;
      return { uri, to: `<${uri}>`, ...(o.username && o.password ? { auth: { username: o.username, password: o.password } } : {}) };
    }
    case 'sip':
      return { uri: target.uri, to: `<${target.uri}>`, ...(target.credentials ? { auth: target.credentials } : {}) };
  }
}

function quoteDisplay(name: string): string {
  return `"${name.replace(/["\\\r\n]/g, '')}"`;
}

export class CallBinding {
  readonly counters: BindingCounters = {
    invites: 0, trunkCalls: 0, clientCalls: 0, authChallenges: 0, noRoute: 0, badSdp: 0, lateOffers: 0, mediaUnavailable: 0,
    reinvites: 0, refers: 0, infos: 0, errors: 0,
  };

  /** SIP Call-ID → the call (its inbound Call-ID) and leg, for the per-call ladder. */
  private readonly legsByCallId = new Map<string, { callId: string; leg: string }>();

  constructor(private readonly o: CallBindingOptions) {}

  /** Media of live calls by call id (management API: mute). */
  private readonly mediaByCall = new Map<string, CallMedia>();

  /** Legs of live calls by call id (management API: hang up one leg). */
  private readonly legsByCall = new Map<string, Map<string, PeerLeg & { dropByApi(): void }>>();

  /**
   * Hang up one side of a live call: A = the caller (the engine then releases the callee), B = the callee side
   * (the engine then goes on as if the callee hung up: `reconnect` or the end). False when nothing was up.
   */
  hangupLeg(callId: string, leg: 'A' | 'B'): boolean {
    const legs = this.legsByCall.get(callId);
    if (!legs) return false;
    let any = false;
    for (const [id, l] of legs) {
      if ((leg === 'A') !== (id === 'A') || !l.session) continue;
      l.dropByApi();
      any = true;
    }
    return any;
  }

  /** Mute or unmute what the caller (A) or the callee side (B) sends. False when the call has no such media. */
  async mute(callId: string, leg: 'A' | 'B', on: boolean): Promise<boolean> {
    const media = this.mediaByCall.get(callId);
    if (!media) return false;
    const ids = media.legIds().filter((id) => (leg === 'A' ? id === 'A' : id !== 'A'));
    let any = false;
    for (const id of ids) any = (await media.mute(id, on)) || any;
    return any;
  }

  /** Which call and leg a SIP Call-ID belongs to (inbound or outbound), while the call lives. */
  legOf(sipCallId: string): { callId: string; leg: string } | undefined {
    return this.legsByCallId.get(sipCallId);
  }

  /** A new INVITE for `domain` (the router checked the domain is served). Never throws. */
  invite(uas: UasInvite, domain: string): void {
    this.counters.invites++;
    this.handle(uas, domain).catch((err: unknown) => {
      this.counters.errors++;
      this.o.logger.error({ err: String(err), callId: uas.request.callId }, 'INVITE handling failed');
      attempt(this.o.logger, 'reject 500', () => uas.reject(500, { reason: 'Server Internal Error' }));
    });
  }

  private async handle(uas: UasInvite, domainName: string): Promise<void> {
    const req = uas.request;
    const cfg = this.o.config();
    const domain = cfg && findDomain(cfg, domainName);
    if (!cfg || !domain) return uas.reject(404, { reason: 'Not Found' });
    const dialled = req.uri.user ?? '';
    const from = req.from;
    const source = uas.source;

    // SPEC §6: trunk by source IP/CIDR first, then client digest auth.
    let trunk: Trunk | undefined;
    let client: Client | undefined;
    let dialplan: Dialplan | undefined;
    let codecs: readonly string[] = this.o.defaultCodecs;
    const tm = matchTrunkBySource(cfg, source.address);
    if (tm && tm.domain.name === domain.name) {
      trunk = tm.trunk;
      dialplan = trunk.dialplan;
      codecs = trunk.codecs;
      this.counters.trunkCalls++;
    } else {
      const auth = await this.o.registrar.authenticateCaller(req, source, domain.name);
      if (!auth.ok) {
        if (auth.response.status === 401) this.counters.authChallenges++;
        uas.transaction.respond(auth.response);
        return;
      }
      client = auth.client;
      codecs = auth.assignment.codecs?.length ? auth.assignment.codecs : client.codecs;
      dialplan = client.dialplan;
      if (auth.assignment.dialplan) {
        // A RegHook client: the dialplan came with the hook's reply (raw JSON), compiled like the config's.
        const v = parseRegHookReply({ status: 'ok', dialplan: auth.assignment.dialplan }, { domain: domain.name, filePath: cfg.filePath });
        if (v.accepted) dialplan = v.compiled;
      }
      this.counters.clientCalls++;
    }
    const entry = dialplan && matchDialplan(dialplan, dialled);
    if (!entry) {
      this.counters.noRoute++;
      return uas.reject(404, { reason: 'No Route' });
    }

    // The caller's media: answered by the relay with the leg's own codec list; no SDP → late offer (ours in the 200).
    const offer = req.body.length > 0 ? req.body.toString('utf8') : '';
    if (!offer) this.counters.lateOffers++;
    // The relay session and the caller's leg in one worker message: the relay registers a new session's handle
    // before the worker confirms it (getSession), so the leg is added in the same turn instead of after a round
    // trip; a relay that does not (or an id already in use) falls back to waiting for createSession.
    const sessionId = req.callId ?? randomUUID();
    const fresh = this.o.relay.getSession(sessionId) === undefined;
    const creating = this.o.relay.createSession(sessionId);
    const inboundSessions: Array<(s: Session) => void> = [];
    const startMedia = (handle: MediaSessionHandle) => {
      const m = new CallMedia(handle, { address: this.o.publicIp, logger: this.o.logger });
      const leg = new InboundSipLeg(uas, m, codecs, this.o.logger, (ss) => inboundSessions.forEach((fn) => fn(ss)), !offer);
      const answer = offer ? m.answerOffer(leg, offer, codecs) : m.prepareLeg(leg, codecs);
      answer.catch(() => {}); // awaited below, after the session's own outcome
      return { media: m, inbound: leg, answer };
    };
    const early = fresh ? this.o.relay.getSession(sessionId) : undefined;
    let started = early ? startMedia(early) : undefined;
    try {
      const handle = await creating;
      started ??= startMedia(handle);
    } catch (err) {
      // The relay has forgotten the session; a leg started on it fails with it (its port goes back to the pool).
      this.counters.mediaUnavailable++;
      this.o.logger.warn({ err: String(err) }, 'no media session for a new call');
      return uas.reject(503, { reason: 'Media Unavailable', headers: { 'Retry-After': 5 } });
    }
    const { media, inbound } = started;
    try {
      await started.answer;
    } catch (err) {
      media.close();
      if (!(err instanceof SdpError)) {
        // The relay could not add the leg (RTP ports exhausted, bind failures): try again later, not a bad offer.
        this.counters.mediaUnavailable++;
        this.o.logger.warn({ err: String(err), callId: req.callId }, 'no RTP port for a new call');
        return uas.reject(503, { reason: 'Media Unavailable', headers: { 'Retry-After': 5 } });
      }
      this.counters.badSdp++;
      const msg = err.message;
      this.o.logger.info({ err: msg, callId: req.callId }, 'caller SDP not acceptable');
      return uas.reject(488, { reason: 'Not Acceptable Here', headers: { Warning: `399 dragon-pbx "${msg.replace(/["\\\r\n]/g, '')}"` } });
    }

    const callerCodec = media.negotiated(inbound)?.codec.name;
    const ownCallIds: string[] = [];
    /** The engine's id of this call (set by startCall below; dials and mid-call requests come later). */
    const ids = { call: '' };
    const legs = new Map<string, PeerLeg & { dropByApi(): void }>([['A', inbound]]);
    let n = 0;
    const headers: Record<string, string> = {};
    for (const h of req.headers) {
      if (/^(authorization|proxy-authorization|via|route|record-route|content-length|max-forwards)$/i.test(h.name)) continue;
      headers[h.name] = h.value;
    }
    const info: CallInfo = {
      callId: req.callId ?? randomUUID(),
      domain: domain.name,
      from: from?.uri.user ?? 'anonymous',
      ...(from?.displayName ? { fromName: from.displayName } : {}),
      to: dialled,
      sourceAddress: source.address,
      sourcePort: source.port,
      source: trunk ? 'trunk' : 'client',
      ...(trunk ? { trunk: { id: trunk.id, name: trunk.name } } : {}),
      headers,
    };
    const dialer: Dialer = {
      dial: (target: DialTarget, opts: DialOptions): OutboundAttempt => {
        const id = `B${++n}`;
        const legCodecs = target.codecs?.length ? target.codecs : this.o.defaultCodecs;
        const leg = new OutboundSipLeg(id, legCodecs, this.o.logger);
        legs.set(id, leg);
        leg.begin(
          async () => {
            const route = routeOf(target);
            const sdp = await media.createOffer(leg, legCodecs, callerCodec);
            const user = opts.callerId ?? info.from;
            const display = opts.callerName ?? (opts.callerId ? undefined : info.fromName);
            const inv = this.o.ua.invite(route.uri, {
              from: `${display ? quoteDisplay(display) + ' ' : ''}<sip:${user}@${domain.name}>`,
              to: route.to,
              body: sdp,
              headers: { ...(opts.headers ?? {}) },
              ...(route.destination ? { destination: route.destination } : {}),
              ...(route.auth ? { auth: route.auth } : {}),
            });
            this.legsByCallId.set(inv.callId, { callId: ids.call, leg: id });
            ownCallIds.push(inv.callId);
            return inv;
          },
          media,
          (s) => this.wireMidCall(s, leg, legs, media, ids.call),
        );
        return leg;
      },
    };
    inboundSessions.push((s) => this.wireMidCall(s, inbound, legs, media, ids.call));
    const { call, done } = this.o.engine.startCall(info, { inbound, dialer, media }, {
      callHook: entry.callHook,
      ...(entry.statusHook ? { statusHook: entry.statusHook } : {}),
    });
    // Only the id from here on: closures made in this function live as long as the call's SIP objects (up to 32 s
    // after the end, for retransmissions), and one that used `call` would keep the call record and ladder with them.
    const callKey = call.id;
    ids.call = callKey;
    this.legsByCallId.set(info.callId, { callId: callKey, leg: 'A' });
    this.mediaByCall.set(callKey, media);
    this.legsByCall.set(callKey, legs);
    ownCallIds.push(info.callId);
    done
      .finally(() => {
        for (const leg of legs.values()) leg.release();
        media.close();
        this.mediaByCall.delete(callKey);
        this.legsByCall.delete(callKey);
        this.forgetCallIdsLater(ownCallIds);
      })
      .catch(() => {});
  }

  /** Late retransmissions still reach the ladder for a moment after the end; then the Call-IDs are forgotten. */
  private forgetCallIdsLater(sipCallIds: readonly string[]): void {
    setTimeout(() => {
      for (const c of sipCallIds) this.legsByCallId.delete(c);
    }, 5000).unref();
  }

  /** The other legs of `leg` that have a dialog, for relaying mid-call requests. */
  private peersOf(leg: PeerLeg, legs: Map<string, PeerLeg>): PeerLeg[] {
    return [...legs.values()].filter((l) => l !== leg && l.session !== undefined && l.session.state !== 'terminated');
  }

  private wireMidCall(s: Session, leg: PeerLeg, legs: Map<string, PeerLeg>, media: CallMedia, callId: string): void {
    const log = this.o.logger;
    const reoffer = (incoming: IncomingRequest, method: 'INVITE' | 'UPDATE') => {
      this.counters.reinvites++;
      const body = incoming.request.body.length > 0 ? incoming.request.body.toString('utf8') : undefined;
      // An UPDATE without SDP only refreshes the session (RFC 3311 §5.2: no offer, so no answer either).
      if (!body && method === 'UPDATE') return attempt(log, 'update 200', () => incoming.respond(200));
      if (!body) {
        // A re-INVITE without SDP asks for our offer: it goes in the 200, the answer comes in the ACK ('ack' below).
        const local = media.offerInResponse(leg, leg.codecs);
        if (!local) return attempt(log, 'reinvite no-sdp 488', () => incoming.respond(488, { reason: 'Not Acceptable Here' }));
        return attempt(log, 'reinvite no-sdp', () => incoming.respond(200, { body: local }));
      }
      media.reoffer(leg, body, leg.codecs).then(
        (answer) => {
          attempt(log, 'reinvite answer', () => incoming.respond(200, { body: answer }));
          // Relay the change (hold/unhold) to the other side as our own re-offer with the mirrored direction.
          const dir = media.negotiated(leg)?.remoteDirection ?? 'sendrecv';
          const mirrored = dir === 'sendonly' ? 'sendonly' : dir === 'recvonly' ? 'recvonly' : dir === 'inactive' ? 'inactive' : 'sendrecv';
          for (const peer of this.peersOf(leg, legs)) {
            if (!peer.session) continue;
            const rewritten = media.directionOffer(peer, mirrored);
            if (!rewritten) continue;
            const req = method === 'UPDATE' ? peer.session.update({ body: rewritten }) : peer.session.reinvite({ body: rewritten });
            Promise.resolve(req).catch((err: unknown) => log.debug({ err: String(err) }, 'relayed re-offer failed'));
          }
        },
        (err: unknown) => {
          log.info({ err: String(err), callId }, 'mid-call offer not acceptable');
          attempt(log, 'reinvite 488', () => incoming.respond(488, { reason: 'Not Acceptable Here' }));
        },
      );
    };
    s.on('ack', (ack) => {
      // Only an ACK for a 2xx that carried our offer holds an answer (RFC 3261 §13.2.1); others are ignored.
      if (!media.awaitsAckAnswer(leg)) return;
      const hadMedia = media.negotiated(leg) !== undefined;
      media.answerFromAck(leg, ack.body.length > 0 ? ack.body.toString('utf8') : '').catch((err: unknown) => {
        this.counters.badSdp++;
        log.info({ err: String(err), callId, leg: leg.id }, hadMedia ? 'unusable SDP answer in an ACK: media unchanged' : 'late offer: no usable SDP answer in the ACK');
        // Mid-call the old media goes on; a late-offer caller without an answer has none: the call ends.
        if (!hadMedia) leg.noMedia?.('SIP;cause=488;text="Not Acceptable Here"');
      });
    });
    s.on('reinvite', (incoming) => reoffer(incoming, 'INVITE'));
    s.on('update', (incoming) => reoffer(incoming, 'UPDATE'));
    s.on('info', (incoming) => {
      this.counters.infos++;
      attempt(log, 'info 200', () => incoming.respond(200));
      const ct = incoming.request.get('Content-Type');
      for (const peer of this.peersOf(leg, legs)) {
        const body = incoming.request.body;
        attempt(log, 'relay INFO', () =>
          peer.session!.info(body.length > 0 && ct ? { body, contentType: ct } : {}),
        );
      }
    });
    s.on('refer', (incoming) => {
      this.counters.refers++;
      const referTo = incoming.request.get('Refer-To');
      const exec = this.o.engine.executor(callId);
      if (!referTo || !exec) return attempt(log, 'refer 400', () => incoming.respond(referTo ? 481 : 400));
      const notify = (status: number, reason: string) =>
        attempt(log, 'refer notify', () =>
          s.notify({
            event: 'refer',
            state: status >= 200 ? 'terminated;reason=noresource' : 'active;expires=60',
            body: `SIP/2.0 ${status} ${reason}\r\n`,
            contentType: 'message/sipfrag;version=2.0',
          }),
        );
      const decision = exec.referRequested(referTo, { by: leg.id === 'A' ? 'caller' : 'callee', notify });
      if (!decision.accepted) return attempt(log, 'refer refused', () => incoming.respond(decision.status, { reason: decision.reason }));
      attempt(log, 'refer 202', () => incoming.respond(202, { reason: 'Accepted' }));
    });
  }
}

