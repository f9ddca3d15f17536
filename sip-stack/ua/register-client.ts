/**
 * RegisterClient: keeps one registration alive (RFC 3261 §10.2): REGISTER with the same Call-ID and an
 * incrementing CSeq (§10.2.4), refresh at about half the granted expiry, 401/407 answered with the digest client,
 * 423 answered with the registrar's Min-Expires (§10.2.8), exponential backoff after failures, and on stop() an
 * unregister with Expires: 0 (§10.2.2).
 */
import { type SipResponse, type NameAddr, createRequest, generateCallId, generateTag, parseNameAddr,
  parseUri } from '../message/index.js';
import type { SendTarget } from '../transport/index.js';
import type { TimerHandle } from '../transaction/index.js';
import { DigestClient } from '../auth/index.js';
import { type ResponseOptions, type UaCore, appendHeaders } from './core.js';
import { UaEmitter } from './emitter.js';
import { UaError } from './errors.js';

export enum RegisterState {
  /** Created, start() not called yet. */
  Idle = 'idle',
  /** A REGISTER is in flight (first registration or after a failure). */
  Registering = 'registering',
  /** Registered; a refresh is scheduled. */
  Registered = 'registered',
  /** A refresh REGISTER is in flight (still registered until it fails or the binding expires). */
  Refreshing = 'refreshing',
  /** The last attempt failed; a retry is scheduled (backoff). */
  Failed = 'failed',
  /** stop() sent Expires: 0 and waits for the answer. */
  Unregistering = 'unregistering',
  /** Stopped (terminal). */
  Stopped = 'stopped',
}

const S = RegisterState;
const LEGAL: Record<RegisterState, RegisterState[]> = {
  [S.Idle]: [S.Registering, S.Stopped],
  [S.Registering]: [S.Registered, S.Failed, S.Unregistering, S.Stopped],
  [S.Registered]: [S.Refreshing, S.Unregistering, S.Stopped],
  [S.Refreshing]: [S.Registered, S.Failed, S.Unregistering, S.Stopped],
  [S.Failed]: [S.Registering, S.Unregistering, S.Stopped],
  [S.Unregistering]: [S.Stopped],
  [S.Stopped]: [],
};

export interface RegisterClientOptions {
  /** Request-URI of the REGISTER (RFC 3261 §10.2: the registrar's domain), e.g. 'sip:pbx.example.com'. */
  registrar: string;
  /** Address of record: To and From of the REGISTER, e.g. 'sip:alice@example.com'. */
  aor: string;
  /** Contact to bind (default the UserAgent's Contact for the registrar's transport). */
  contact?: string;
  /** Requested expiry in seconds (default 3600). */
  expires?: number;
  /** Credentials for 401/407 (never logged). */
  auth?: { username: string; password: string; realm?: string };
  /** Send here instead of resolving the registrar URI (outbound proxy, fixed address). */
  destination?: SendTarget;
  /** Refresh after this fraction of the granted expiry (default 0.5: "about half"). */
  refreshFraction?: number;
  /** First retry delay after a failure (default 30 000 ms); doubles per consecutive failure. */
  retryBaseMs?: number;
  /** Largest retry delay (default 1 800 000 ms). */
  retryMaxMs?: number;
  /** Fraction of random reduction of each retry delay (default 0.1; 0 = deterministic). */
  retryJitter?: number;
  /** Random source in [0, 1) for the jitter (tests inject one). */
  random?: () => number;
  /** Extra headers on every REGISTER. */
  headers?: ResponseOptions['headers'];
}

export interface RegisterClientEvents {
  /** Every state change. */
  state: [state: RegisterState, previous: RegisterState];
  /** A 2xx: `expires` is the granted expiry (seconds). */
  registered: [expires: number, response: SipResponse];
  /** An attempt failed (final non-2xx, local 408/503); the next try is in `retryInMs`. */
  failed: [status: number, reason: string, retryInMs: number, response: SipResponse | undefined];
  /** stop() finished (the Expires: 0 REGISTER was answered, or failed — the binding then expires by itself). */
  unregistered: [response: SipResponse | undefined];
}

export class RegisterClient extends UaEmitter<RegisterClientEvents> {
  readonly callId = generateCallId();
  private readonly ua: UaCore;
  private readonly o: RegisterClientOptions;
  private readonly aor: NameAddr;
  private readonly fromTag = generateTag();
  private readonly digest: DigestClient | undefined;
  private _state = RegisterState.Idle;
  private cseq = 0;
  private requested: number;
  private granted: number | undefined;
  private failures = 0;
  private timer: TimerHandle | undefined;
  private generation = 0;
  private stopping: Promise<void> | undefined;
  private _nextAttemptAt: number | undefined;
  private contactUsed: string | undefined;

  /** @internal use `new RegisterClient(ua, options)` — ua is a UserAgent. */
  constructor(ua: UaCore, o: RegisterClientOptions) {
    super();
    this.onListenerError = (event, err) => ua.listenerError(`register ${event}`, err);
    this.ua = ua;
    this.o = o;
    try {
      parseUri(o.registrar, 'Request-URI');
      this.aor = parseNameAddr(o.aor.includes('<') ? o.aor : `<${o.aor}>`, 'To');
    } catch (err) {
      throw new UaError('DPBX_ERR_UA_OPTIONS', `bad registrar or aor: ${(err as Error).message}`, err);
    }
    this.requested = o.expires ?? 3600;
    if (!Number.isInteger(this.requested) || this.requested < 1) throw new UaError('DPBX_ERR_UA_OPTIONS', 'expires must be a positive integer');
    const f = o.refreshFraction ?? 0.5;
    if (!(f > 0 && f < 1)) throw new UaError('DPBX_ERR_UA_OPTIONS', 'refreshFraction must be between 0 and 1');
    if (o.auth !== undefined) this.digest = new DigestClient(o.auth);
  }

  get state(): RegisterState {
    return this._state;
  }

  /** The expiry the registrar granted in its last 2xx (seconds). */
  get expires(): number | undefined {
    return this.granted;
  }

  /** Clock time (ms) of the next refresh or retry, if one is scheduled. */
  get nextAttemptAt(): number | undefined {
    return this._nextAttemptAt;
  }

  /** Consecutive failures so far. */
  get failureCount(): number {
    return this.failures;
  }

  private transition(to: RegisterState): void {
    const from = this._state;
    if (from === to) return;
    if (!LEGAL[from].includes(to)) throw new UaError('DPBX_ERR_UA_STATE', `register client ${from} → ${to}`);
    this._state = to;
    // Leaving a waiting state or stopping: the timer of that state is obsolete.
    if (to !== S.Registered && to !== S.Failed) this.clearTimer();
    this.emit('state', to, from);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.ua.clock.clearTimer(this.timer);
    this.timer = undefined;
    this._nextAttemptAt = undefined;
  }

  private schedule(ms: number, fn: () => void): void {
    this.clearTimer();
    this._nextAttemptAt = this.ua.clock.now() + ms;
    this.timer = this.ua.clock.setTimer(ms, () => {
      this.timer = undefined;
      this._nextAttemptAt = undefined;
      fn();
    });
  }

  /** Register now and keep the registration alive until stop(). Idempotent. */
  start(): void {
    if (this._state !== S.Idle) return;
    this.transition(S.Registering);
    void this.attempt(this.requested);
  }

  private buildRegister(expires: number) {
    const uri = parseUri(this.o.registrar, 'Request-URI');
    const transport = this.ua.transportFor(uri, this.o.destination);
    // §10.2.4: "A UA SHOULD use the same Call-ID for all registrations during a single boot cycle" and "the
    // CSeq value ... MUST be incremented by one".
    this.contactUsed = this.o.contact ?? this.ua.contact(transport);
    const req = createRequest({
      method: 'REGISTER', uri, from: this.aor.toString(), to: this.aor.toString(), fromTag: this.fromTag,
      callId: this.callId, cseq: ++this.cseq, via: this.ua.via(transport), contact: this.contactUsed,
    });
    req.set('Expires', expires);
    appendHeaders(req, this.o.headers);
    this.ua.decorate(req);
    if (this.digest !== undefined) for (const a of this.digest.authorizeRequest(req)) req.append(a.header, a.value);
    return req;
  }

  private async attempt(expires: number, briefRetry = false): Promise<void> {
    const gen = ++this.generation;
    let res: SipResponse;
    try {
      const req = this.buildRegister(expires);
      res = await this.ua.request(req, this.o.destination, this.digest);
      // request() consumed CSeqs for a challenge retry: keep ours above them.
      this.cseq = Math.max(this.cseq, (res.cseq?.seq ?? this.cseq));
    } catch (err) {
      if (gen !== this.generation) return;
      this.failed(503, `REGISTER not sent: ${(err as Error).message}`, undefined);
      return;
    }
    if (gen !== this.generation || this._state === S.Stopped || this._state === S.Unregistering) return;
    const st = res.status;
    if (st >= 200 && st < 300) {
      this.succeeded(res, expires);
      return;
    }
    if (st === 423 && !briefRetry) {
      // §10.2.8: "the UA MAY retry the registration with an expiration interval that is greater than or equal to
      // the value in the Min-Expires header field of the 423".
      let min: number | undefined;
      try {
        min = res.minExpires;
      } catch {
        min = undefined;
      }
      if (min !== undefined && min > expires) {
        this.requested = min;
        void this.attempt(min, true);
        return;
      }
    }
    this.failed(st, res.reason, res);
  }

  private succeeded(res: SipResponse, requested: number): void {
    // §10.2.4: the 2xx lists the bindings with their expiry; ours is the Contact we sent.
    const granted = grantedExpiry(res, this.contactUsed) ?? requested;
    if (granted <= 0) {
      // The registrar answered 2xx but lists our binding with expires=0: we are not registered.
      this.failed(res.status, 'binding not kept by the registrar (expires=0)', res);
      return;
    }
    this.granted = granted;
    this.failures = 0;
    this.transition(S.Registered);
    this.emit('registered', granted, res);
    const frac = this.o.refreshFraction ?? 0.5;
    // Refresh at about half the granted expiry (never sooner than 1 s).
    this.schedule(Math.max(1000, Math.floor(granted * 1000 * frac)), () => {
      if (this._state !== S.Registered) return;
      this.transition(S.Refreshing);
      void this.attempt(this.requested);
    });
  }

  private failed(status: number, reason: string, res: SipResponse | undefined): void {
    this.failures++;
    const base = this.o.retryBaseMs ?? 30_000;
    const max = this.o.retryMaxMs ?? 1_800_000;
    let delay = Math.min(max, base * 2 ** Math.min(this.failures - 1, 30));
    const jitter = this.o.retryJitter ?? 0.1;
    if (jitter > 0) delay = Math.round(delay * (1 - jitter * (this.o.random ?? Math.random)()));
    // A 503 with Retry-After (§21.5.4 / §20.33) asks for at least that long.
    try {
      const ra = res?.get('Retry-After');
      const n = ra === undefined ? NaN : parseInt(ra, 10);
      if (Number.isFinite(n) && n > 0) delay = Math.max(delay, Math.min(max, n * 1000));
    } catch {
      // ignore a malformed Retry-After
    }
    this.transition(S.Failed);
    this.emit('failed', status, reason, delay, res);
    this.schedule(delay, () => {
      if (this._state !== S.Failed) return;
      this.transition(S.Registering);
      void this.attempt(this.requested);
    });
  }

  /**
   * Stop refreshing and remove the binding: REGISTER with Expires: 0 for our Contact (§10.2.2), when a binding
   * may exist. Resolves when answered (or failed). Idempotent.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.generation++;
    const mayBeBound = this._state !== S.Idle && this._state !== S.Stopped;
    this.clearTimer();
    if (!mayBeBound || this.ua.closed) {
      if (this._state !== S.Stopped) this.transition(S.Stopped);
      this.stopping = Promise.resolve();
      return this.stopping;
    }
    this.transition(S.Unregistering);
    this.stopping = (async () => {
      let res: SipResponse | undefined;
      try {
        res = await this.ua.request(this.buildRegister(0), this.o.destination, this.digest);
      } catch {
        res = undefined;
      }
      this.granted = undefined;
      this.transition(S.Stopped);
      this.emit('unregistered', res);
    })();
    return this.stopping;
  }
}

/** Expiry granted for `contact` (or the only Contact) in a 2xx to REGISTER: its expires parameter, else Expires. */
function grantedExpiry(res: SipResponse, contact: string | undefined): number | undefined {
  try {
    const cs = res.contact;
    if (Array.isArray(cs) && cs.length > 0) {
      let mine = cs.length === 1 ? cs[0] : undefined;
      if (contact !== undefined) {
        const want = parseNameAddr(contact.includes('<') ? contact : `<${contact}>`, 'Contact').uri;
        mine = cs.find((c) => c.uri.hostname === want.hostname && (c.uri.port ?? 5060) === (want.port ?? 5060) && c.uri.user === want.user) ?? mine;
      }
      if (mine?.expires !== undefined) return mine.expires;
    }
    return res.expires;
  } catch {
    return undefined;
  }
}
