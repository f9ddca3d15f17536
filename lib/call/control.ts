/**
 * CallControl: the small interface between the call engine and the world. The engine (executor.ts) decides what
 * happens to a call; a binding carries it out. The lead binds these interfaces to the SIP user agent
 * (sip-stack/ua) and the media relay (media/relay); the tests bind them to fakes. Nothing here knows SIP
 * messages or RTP packets.
 *
 * Ownership: one Call has one inbound leg (the caller), any number of outbound attempts (forks), one
 * MediaControl. The engine calls the binding; the binding reports network events back through the listeners
 * registered here. Listener calls never throw into the binding (they are wrapped), and every binding method may
 * throw or reject: the engine catches, counts (`controlErrors`) and carries on or ends the call.
 */
import type { Trunk } from '../config/index.js';
import type { Dest, DestType } from '../script/index.js';

/** Anything that names a leg for the media relay. */
export interface LegRef {
  readonly id: string;
}

// ---------------------------------------------------------------- the caller

/**
 * The inbound leg: the server transaction of the caller's INVITE and, once answered, its dialog.
 *
 * The binding answers a CANCEL itself (200 to the CANCEL, 487 to the INVITE: RFC 3261 §9.2) and then calls the
 * `onCancel` listeners; it answers a BYE with 200 and then calls the `onHangup` listeners. After either the engine
 * calls no more methods of the leg except idempotent `hangup()`.
 */
export interface InboundLeg extends LegRef {
  /** True once a 2xx was sent. */
  readonly isAnswered: boolean;
  /**
   * Provisional response: without `sdp` a 180 Ringing, with `sdp` a 183 Session Progress carrying it (early
   * media: ringback or an announcement). May be called more than once (later calls may repeat the 183).
   */
  early(sdp?: string): void | Promise<void>;
  /** 200 OK, with the relay's SDP answer for this leg when given. */
  answer(sdp?: string): void | Promise<void>;
  /** A final non-2xx response (3xx–6xx) with extra headers (a 3xx carries Contact). Only before answer. */
  reject(code: number, reason: string, headers?: Record<string, string>): void | Promise<void>;
  /** BYE after answer (or, before answer, the binding may send a final 480). Idempotent. */
  hangup(): void | Promise<void>;
  onCancel(listener: (reason?: string) => void): void;
  onHangup(listener: () => void): void;
}

// ---------------------------------------------------------------- destinations

/** A Dest as it appears in StatusHook events and CDRs: type and address only, never credentials. */
export interface DestSummary {
  type: DestType;
  address: string;
}

/** A registered contact of a client (structurally a lib/state ContactBinding). */
export interface RegisteredContact {
  uri: string;
  /** The flow the REGISTER arrived on: requests to this contact go through it (SPEC §6). */
  flow?: {
    transport: string;
    address: string;
    port: number;
    connectionId?: string;
    localAddress?: string;
  };
  path?: string[];
  q?: number;
}

/** What the resolver needs from the registration store (lib/state's RegistrationStore satisfies it). */
export interface Registrations {
  lookup(aor: { domain: string; user: string }): Promise<
    | {
        contacts: readonly RegisteredContact[];
        assignment?: { codecs?: string[] };
      }
    | undefined
  >;
}

interface DialTargetBase {
  /** The Dest of the connect verb this target came from (contains credentials for `sip` dests: never log it). */
  dest: Dest;
  /** Position of `dest` in the verb's dest list (StatusHook `index`). */
  destIndex: number;
  /** The call's domain. */
  domain: string;
  /** Codec preference for this leg: the Dest's codecs, else the client's/trunk's, else undefined (defaults). */
  codecs?: string[];
}

/** A registered contact of a client of the same domain. */
export interface ClientDialTarget extends DialTargetBase {
  kind: 'client';
  user: string;
  contact: RegisteredContact;
}

/** A number dialled through a trunk of the same domain (the binding answers 401/407 with its credentials). */
export interface TrunkDialTarget extends DialTargetBase {
  kind: 'trunk';
  number: string;
  trunk: Trunk;
}

/** A SIP URI, with credentials from the Dest for a challenge. */
export interface SipDialTarget extends DialTargetBase {
  kind: 'sip';
  uri: string;
  credentials?: { username: string; password: string };
}

export type DialTarget = ClientDialTarget | TrunkDialTarget | SipDialTarget;

// ---------------------------------------------------------------- the callees

export interface DialOptions {
  /** User part of the From of the outbound INVITE (connect `callerId`); the caller's user when absent. */
  callerId?: string;
  /** Display name of the From (connect `callerName`). */
  callerName?: string;
  /** Extra headers from the Dest. */
  headers?: Record<string, string>;
  /** How long this attempt may ring. The engine enforces it with its own clock and cancels; a binding may use
   *  it too (e.g. for the INVITE's Expires). */
  timeoutMs: number;
  /** The caller's identity, for the binding to fill From/P-Asserted-Identity when no callerId is given. */
  from: string;
}

/** RFC 3326 Reason header value for a CANCEL or BYE: `SIP;cause=200;text="Call completed elsewhere"`. */
export interface CancelReason {
  protocol: 'SIP' | 'Q.850';
  cause: number;
  text?: string;
}

/** Render a CancelReason as a Reason header value (RFC 3326 §2). */
export function formatReason(r: CancelReason): string {
  const text = r.text === undefined ? '' : `;text="${r.text.replace(/["\\\r\n]/g, '')}"`;
  return `${r.protocol};cause=${r.cause}${text}`;
}

/** RFC 3326 / RFC 3261 §9.1 usage for forking: the Reason sent to the forks that lost. */
export const COMPLETED_ELSEWHERE: CancelReason = { protocol: 'SIP', cause: 200, text: 'Call completed elsewhere' };

/**
 * Events of an outbound attempt. `failed` covers any final non-2xx (status, reason phrase); `timeout` is the
 * binding's own timeout (Timer B / no final response); `hangup` is a BYE from the callee after it answered.
 */
export interface OutboundAttemptEvents {
  trying: [];
  ringing: [];
  'early-media': [];
  answered: [];
  failed: [status: number, reason: string];
  timeout: [];
  hangup: [];
}

/** One INVITE client transaction (and later dialog) towards one target. */
export interface OutboundAttempt extends LegRef {
  on<K extends keyof OutboundAttemptEvents>(event: K, fn: (...args: OutboundAttemptEvents[K]) => void): unknown;
  /** CANCEL (before a final response), with an RFC 3326 Reason when given. Idempotent; ignored once final. */
  cancel(reason?: CancelReason): void | Promise<void>;
  /** BYE (after answer; a late 2xx of a lost fork is ACKed and BYEd this way). Idempotent. */
  hangup(reason?: CancelReason): void | Promise<void>;
}

export interface Dialer {
  /** Start an INVITE towards `target`. Must return at once; events come later (never synchronously). */
  dial(target: DialTarget, opts: DialOptions): OutboundAttempt;
}

// ---------------------------------------------------------------- media

export interface PlaybackResult {
  /** How long was played (ms); less than the file when interrupted. */
  durationMs: number;
}

/**
 * The media session of one call (a relay session in the real binding). `leg` arguments name the leg that hears
 * the media or whose SDP is meant.
 */
export interface MediaControl {
  /** The SDP the relay offers `leg` for a 183 or 200 (undefined: the binding fills it in itself). */
  localSdp(leg: LegRef): string | undefined | Promise<string | undefined>;
  /** Start looping the ringback tone (a `file:` or http URL) to `leg`. */
  playRingback(leg: LegRef, tone: string): void | Promise<void>;
  /** Stop the ringback of `leg` (no-op when none). */
  stopRingback(leg: LegRef): void;
  /** Play a WAV to `leg`; resolves when done or aborted, rejects when the media cannot be played. */
  play(leg: LegRef, url: string, signal: AbortSignal): Promise<PlaybackResult>;
  /** Connect the media of `a` and `b` (early media or answered). A later call for `a` replaces its peer. */
  bridge(a: LegRef, b: LegRef): void | Promise<void>;
  /** Disconnect `leg` from whatever it is bridged to (its peer hung up or was transferred away). */
  unbridge(leg: LegRef): void;
  /** Release the session (ports, players). Idempotent. */
  close(): void;
}

// ---------------------------------------------------------------- who called

/** What the engine knows about a new call: from the SIP layer after identification and dialplan lookup. */
export interface CallInfo {
  /** SIP Call-ID of the inbound INVITE. */
  callId: string;
  /** Lower-case domain name. */
  domain: string;
  /** Caller user part. */
  from: string;
  /** Caller display name, if any. */
  fromName?: string;
  /** Dialled user part. */
  to: string;
  sourceAddress: string;
  sourcePort?: number;
  source: 'client' | 'trunk';
  /** The inbound trunk (for trunk calls). Only id and name ever leave the engine. */
  trunk?: { id: number | string; name: string };
  /** Headers of the INVITE the application may see (credentials are dropped again by the engine). */
  headers?: Record<string, string>;
}
