// Session timers (RFC 4028): Session-Expires / Min-SE parsing, the UAS and UAC negotiation (refresher, 422), and
// a small machine that asks for a refresh at half the interval and for a BYE when the session expires. Time
// comes from the injected Clock of sip-stack/transaction, so tests run in virtual time.

import { SipParseError, type SipMessage, type SipRequest, type SipResponse, type HeaderValueInput } from '../message/index.js';
import type { Clock, TimerHandle } from '../transaction/index.js';
import { DialogError } from './errors.js';

/** RFC 4028 §4: "the minimum value ... MUST NOT be less than 90 seconds" (Min-SE floor and default). */
export const MIN_SE_FLOOR = 90;
/** RFC 4028 §4: "the RECOMMENDED value for the Session-Expires is 1800 seconds". */
export const DEFAULT_SESSION_EXPIRES = 1800;

export type Refresher = 'uac' | 'uas';

export interface SessionExpiresValue {
  /** delta-seconds */
  interval: number;
  refresher: Refresher | undefined;
}

function bad(header: string, what: string): SipParseError {
  return new SipParseError('DPBX_ERR_SIP_BAD_HEADER', 400, `Malformed ${header}: ${what}`, { header });
}

function parseDelta(s: string, header: string): number {
  const t = s.trim();
  if (!/^[0-9]{1,10}$/.test(t)) throw bad(header, 'not delta-seconds');
  const v = Number(t);
  if (v > 0xffffffff) throw bad(header, 'value too large');
  return v;
}

/** RFC 4028 §4: `Session-Expires = delta-seconds *(SEMI se-params)`, se-params = refresher-param / generic-param. */
export function parseSessionExpires(value: string): SessionExpiresValue {
  const parts = value.split(';');
  const interval = parseDelta(parts[0]!, 'Session-Expires');
  let refresher: Refresher | undefined;
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (name.length === 0) throw bad('Session-Expires', 'empty parameter');
    if (name === 'refresher') {
      const v = eq < 0 ? '' : p.slice(eq + 1).trim().toLowerCase();
      if (v !== 'uac' && v !== 'uas') throw bad('Session-Expires', 'refresher must be uac or uas');
      refresher = v;
    }
  }
  return { interval, refresher };
}

/** RFC 4028 §5: `Min-SE = delta-seconds *(SEMI generic-param)`. */
export function parseMinSE(value: string): number {
  return parseDelta(value.split(';')[0]!, 'Min-SE');
}

/** Session-Expires (or compact `x`) of a message; undefined when absent; throws SipParseError when malformed. */
export function readSessionExpires(m: SipMessage): SessionExpiresValue | undefined {
  const v = m.get('Session-Expires');
  return v === undefined ? undefined : parseSessionExpires(v);
}

/** Min-SE of a message; undefined when absent; throws SipParseError when malformed. */
export function readMinSE(m: SipMessage): number | undefined {
  const v = m.get('Min-SE');
  return v === undefined ? undefined : parseMinSE(v);
}

function hasTimerOption(list: string[]): boolean {
  return list.some((x) => x.toLowerCase() === 'timer');
}

export interface SessionTimerPolicy {
  /** Interval we ask for / accept at most (seconds). Default 1800. */
  sessionExpires?: number;
  /** Smallest interval we accept (seconds, ≥ 90). Default 90. */
  minSE?: number;
  /** Who should refresh when we decide (as UAS without a refresher in the request): default 'uas' (ourselves). */
  preferredRefresher?: Refresher;
  /** Run a session timer even when the request asks for none. Default true. */
  enabled?: boolean;
}

interface ResolvedPolicy {
  sessionExpires: number;
  minSE: number;
  preferredRefresher: Refresher;
  enabled: boolean;
}

export function resolveSessionTimerPolicy(p: SessionTimerPolicy = {}): ResolvedPolicy {
  const minSE = p.minSE ?? MIN_SE_FLOOR;
  const se = p.sessionExpires ?? DEFAULT_SESSION_EXPIRES;
  if (!Number.isInteger(minSE) || minSE < MIN_SE_FLOOR) throw new DialogError('DPBX_ERR_DIALOG_OPTIONS', `minSE must be an integer ≥ ${MIN_SE_FLOOR}`);
  if (!Number.isInteger(se) || se < minSE) throw new DialogError('DPBX_ERR_DIALOG_OPTIONS', 'sessionExpires must be an integer ≥ minSE');
  return { sessionExpires: se, minSE, preferredRefresher: p.preferredRefresher ?? 'uas', enabled: p.enabled ?? true };
}

/** The negotiated timer of one INVITE/UPDATE transaction; `refresher` is relative to that transaction's roles. */
export interface SessionTimerAgreement {
  interval: number;
  refresher: Refresher;
}

export type UasSessionTimerResult =
  | { action: 'accept'; agreement: SessionTimerAgreement | undefined; headers: Array<[string, HeaderValueInput]> }
  | { action: 'reject'; status: 400 | 422; reason: string; headers: Array<[string, HeaderValueInput]> };

/**
 * UAS processing of an INVITE or UPDATE (RFC 4028 §9). Returns the headers to put in the 2xx, or the 422/400 to
 * send instead.
 */
export function negotiateAsUas(req: SipRequest, policy: SessionTimerPolicy = {}): UasSessionTimerResult {
  const p = resolveSessionTimerPolicy(policy);
  let se: SessionExpiresValue | undefined;
  let reqMinSE: number;
  let uacSupports: boolean;
  try {
    se = readSessionExpires(req);
    reqMinSE = readMinSE(req) ?? MIN_SE_FLOOR;
    uacSupports = hasTimerOption(req.supported) || hasTimerOption(req.require);
  } catch (err) {
    return { action: 'reject', status: 400, reason: err instanceof SipParseError ? err.reasonPhrase : 'Bad Request', headers: [] };
  }
  let interval: number;
  let refresher: Refresher;
  if (se !== undefined) {
    // RFC 4028 §9: "If the value of the Session-Expires header field is lower than the minimum session interval
    // the UAS is willing to accept, it MUST reject the request with a 422 ... with a Min-SE header field
    // containing the value of its minimum session interval."
    if (se.interval < p.minSE) {
      return { action: 'reject', status: 422, reason: 'Session Interval Too Small', headers: [['Min-SE', p.minSE]] };
    }
    // RFC 4028 §9: the UAS "MAY reduce the value ... but MUST NOT set it to a duration lower than the value in
    // the Min-SE header field in the request, if it is present".
    interval = Math.min(se.interval, Math.max(p.sessionExpires, reqMinSE, p.minSE));
    // RFC 4028 §9: a refresher chosen by the UAC is kept; otherwise the UAS chooses, and only 'uas' when the UAC
    // does not support the extension ("If the UAC does not support session timers, the refresher MUST be uas").
    refresher = se.refresher ?? (uacSupports ? p.preferredRefresher : 'uas');
    if (!uacSupports) refresher = 'uas';
  } else {
    // RFC 4028 §9: without Session-Expires in the request the UAS may still request a session timer in the 2xx,
    // not below the request's Min-SE.
    if (!p.enabled) return { action: 'accept', agreement: undefined, headers: [] };
    interval = Math.max(p.sessionExpires, reqMinSE);
    refresher = uacSupports ? p.preferredRefresher : 'uas';
  }
  const headers: Array<[string, HeaderValueInput]> = [['Session-Expires', `${interval};refresher=${refresher}`]];
  // RFC 4028 §9: "If the refresher parameter in the Session-Expires header field in the 2xx response has a value
  // of 'uac', the UAS MUST place a Require header field into the response with the value 'timer'."
  if (refresher === 'uac') headers.push(['Require', 'timer']);
  return { action: 'accept', agreement: { interval, refresher }, headers };
}

/**
 * Headers a UAC puts in an INVITE/UPDATE that wants a session timer (RFC 4028 §7.1): Supported: timer,
 * Session-Expires (no refresher: the UAS decides) and Min-SE.
 */
export function uacSessionTimerHeaders(policy: SessionTimerPolicy = {}, sessionExpires?: number): Array<[string, HeaderValueInput]> {
  const p = resolveSessionTimerPolicy(policy);
  const se = Math.max(sessionExpires ?? p.sessionExpires, p.minSE);
  return [['Supported', 'timer'], ['Session-Expires', se], ['Min-SE', p.minSE]];
}

/**
 * RFC 4028 §7.4 (422 handling): "the UAC MAY retry the request ... the Session-Expires header field value in the
 * new request" carries a Min-SE equal to the largest Min-SE received in 422s, and a Session-Expires not below it
 * (we use exactly that value). Returns the headers for the retry, or undefined when the 422 has no usable Min-SE.
 */
export function retryAfter422(res: SipResponse, policy: SessionTimerPolicy = {}): Array<[string, HeaderValueInput]> | undefined {
  if (res.status !== 422) return undefined;
  let min: number | undefined;
  try {
    min = readMinSE(res);
  } catch {
    return undefined;
  }
  if (min === undefined || min < MIN_SE_FLOOR) return undefined;
  const minSE = Math.max(policy.minSE ?? MIN_SE_FLOOR, min);
  return [['Supported', 'timer'], ['Session-Expires', minSE], ['Min-SE', minSE]];
}

/**
 * UAC processing of the 2xx to its INVITE/UPDATE (RFC 4028 §7.2): the Session-Expires of the 2xx is the
 * agreement ("If the 2xx response did not contain a Session-Expires header field, there is no session
 * expiration"). A missing refresher parameter means the UAC refreshes. Malformed → undefined (no timer).
 */
export function negotiateAsUac(res: SipResponse): SessionTimerAgreement | undefined {
  try {
    const se = readSessionExpires(res);
    if (se === undefined || se.interval === 0) return undefined;
    return { interval: se.interval, refresher: se.refresher ?? 'uac' };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- the timer machine

export enum SessionTimerState {
  Idle = 'idle',
  /** Waiting for the next refresh; we send it when we are the refresher. */
  Running = 'running',
  /** The session expired: BYE was requested. */
  Expired = 'expired',
  Stopped = 'stopped',
}

export interface SessionTimerOptions {
  clock: Clock;
  /** We are the refresher and half the interval passed: send a re-INVITE or UPDATE now. */
  onRefresh: () => void;
  /** No refresh happened in time: send BYE (RFC 4028 §10). */
  onExpire: () => void;
}

const LEGAL: Record<SessionTimerState, SessionTimerState[]> = {
  [SessionTimerState.Idle]: [SessionTimerState.Running, SessionTimerState.Stopped],
  [SessionTimerState.Running]: [SessionTimerState.Running, SessionTimerState.Expired, SessionTimerState.Stopped],
  [SessionTimerState.Expired]: [SessionTimerState.Stopped],
  [SessionTimerState.Stopped]: [],
};

/** When (ms after the agreement) the refresher refreshes: half the interval (RFC 4028 §10). */
export function refreshDelayMs(interval: number): number {
  return (interval * 1000) / 2;
}

/**
 * When (ms after the agreement) the session is considered expired and BYE is sent: RFC 4028 §10 "the UA SHOULD
 * send a BYE ... at the time of ... session expiration minus the minimum of 32 seconds and one third of the
 * session interval".
 */
export function expiryDelayMs(interval: number): number {
  return (interval - Math.min(32, interval / 3)) * 1000;
}

export class SessionTimer {
  private _state = SessionTimerState.Idle;
  private refreshHandle: TimerHandle | undefined;
  private expiryHandle: TimerHandle | undefined;
  private _agreement: SessionTimerAgreement | undefined;
  private _weRefresh = false;
  private readonly o: SessionTimerOptions;

  constructor(o: SessionTimerOptions) {
    this.o = o;
  }

  get state(): SessionTimerState {
    return this._state;
  }
  get agreement(): SessionTimerAgreement | undefined {
    return this._agreement;
  }
  /** Whether this side sends the refreshes. */
  get isRefresher(): boolean {
    return this._weRefresh;
  }

  /**
   * Start or restart with the agreement of a completed INVITE/UPDATE (initial or refresh). `localRole` is our role
   * in THAT transaction ('uac' when we sent it): the refresher is relative to it (RFC 4028 §7.2, §9). An undefined
   * agreement stops the timer (the refresh's 2xx carried no Session-Expires).
   */
  update(agreement: SessionTimerAgreement | undefined, localRole: Refresher): void {
    if (this._state === SessionTimerState.Stopped || this._state === SessionTimerState.Expired) return;
    if (agreement === undefined) {
      this.transition(SessionTimerState.Stopped);
      return;
    }
    this._agreement = agreement;
    this._weRefresh = agreement.refresher === localRole;
    this.transition(SessionTimerState.Running);
  }

  stop(): void {
    if (this._state !== SessionTimerState.Stopped) this.transition(SessionTimerState.Stopped);
  }

  private clear(): void {
    const c = this.o.clock;
    if (this.refreshHandle !== undefined) { c.clearTimer(this.refreshHandle); this.refreshHandle = undefined; }
    if (this.expiryHandle !== undefined) { c.clearTimer(this.expiryHandle); this.expiryHandle = undefined; }
  }

  private transition(to: SessionTimerState): void {
    if (!LEGAL[this._state].includes(to)) throw new DialogError('DPBX_ERR_DIALOG_STATE', `illegal session timer transition ${this._state} → ${to}`);
    this._state = to;
    this.clear();
    if (to !== SessionTimerState.Running) return;
    const a = this._agreement!;
    const c = this.o.clock;
    if (this._weRefresh) {
      // RFC 4028 §10: "the refresher SHOULD send a session refresh request ... at half the session interval".
      this.refreshHandle = c.setTimer(refreshDelayMs(a.interval), () => {
        this.refreshHandle = undefined;
        if (this._state === SessionTimerState.Running) this.o.onRefresh();
      });
    }
    this.expiryHandle = c.setTimer(expiryDelayMs(a.interval), () => {
      this.expiryHandle = undefined;
      if (this._state !== SessionTimerState.Running) return;
      this.transition(SessionTimerState.Expired);
      this.o.onExpire();
    });
  }
}
