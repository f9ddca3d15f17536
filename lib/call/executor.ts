/**
 * CallScriptExecutor: runs one call's CallScripts (SPEC §3–§5) against the CallControl interfaces.
 *
 *   first CallHook (count 0) ──► run verbs in order ──► script over, caller still there?
 *        ▲                                                   │ yes: CallHook again, count 1, 2, 3,
 *        └───────────────────────────────────────────────────┘      running the NEW script each time
 *   then the final code (fallback.code, default 480) — or BYE when the caller was answered.
 *
 * A hook that fails (timeout, non-2xx, invalid JSON, invalid CallScript) produces `hook:error` and the fallback:
 * the fallback hook when one is configured, else the final code. A REFER from a bridged party asks the CallHook
 * with `refer: true` and `to` = the Refer-To user and runs that script for the remaining party.
 *
 * A redirect (PUT /domains/:d/calls/:id, SPEC §7) stops the running verb (ringing forks CANCELled, a bridged
 * callee released, a pause or an announcement aborted, a pending CallHook request abandoned) and runs the new
 * script, or asks the new CallHook with count 0; the retry count starts again.
 *
 * Nothing escapes: binding failures are counted (`controlErrors`) and logged, `run()` never rejects, and
 * `call:end` is sent exactly once.
 */
import { HookError, type HookReply, type HookTarget } from '../hooks/index.js';
import type { Hook } from '../config/index.js';
import { lazyChild, type Logger } from '../log.js';
import {
  CallScriptError,
  parseCallScript,
  type AnnounceVerb,
  type CallScript,
  type ConnectVerb,
  type PauseVerb,
  type ResponseVerb,
} from '../script/index.js';
import { Call, CallState, type CallEndCause } from './call.js';
import { systemCallClock, type CallClock } from './clock.js';
import { ConnectRun, type ConnectContext, type ConnectOutcome } from './connect-run.js';
import type { DestSummary, Dialer, InboundLeg, MediaControl, OutboundAttempt } from './control.js';
import { StatusReporter, type StatusSink } from './status-reporter.js';

/** What the executor needs of a hook client (lib/hooks HookClient satisfies it). */
export interface CallHookClient {
  call(kind: 'callhook', target: HookTarget, body: Record<string, unknown>): Promise<HookReply>;
}

/** SPEC §3: when the CallHook fails, a second hook, then a final code (default 480). */
export interface CallFallback {
  callHook?: HookTarget;
  /** Final response when nothing else answered. Default 480. */
  code?: number;
  reason?: string;
}

export interface CallCounters {
  calls: number;
  answered: number;
  ended: number;
  hookRequests: number;
  hookErrors: number;
  retries: number;
  transfers: number;
  transfersFailed: number;
  /** A CallControl binding threw or rejected. */
  controlErrors: number;
  /** The executor itself failed (a bug): the call was ended with cause `error`. */
  internalErrors: number;
  /** Live calls redirected to a new script or CallHook (PUT /domains/:d/calls/:id). */
  redirects: number;
}

export function newCallCounters(): CallCounters {
  return {
    calls: 0,
    answered: 0,
    ended: 0,
    hookRequests: 0,
    hookErrors: 0,
    retries: 0,
    transfers: 0,
    transfersFailed: 0,
    controlErrors: 0,
    internalErrors: 0,
    redirects: 0,
  };
}

export interface CallScriptExecutorOptions {
  call: Call;
  inbound: InboundLeg;
  dialer: Dialer;
  media: MediaControl;
  resolver: ConnectContext['resolver'];
  hooks: CallHookClient;
  /** The dialplan entry's CallHook. */
  callHook: HookTarget;
  /** The dialplan entry's StatusHook (no events when absent). */
  statusHook?: HookTarget;
  /** StatusHook delivery (StatusHookQueue). */
  status?: StatusSink;
  fallback?: CallFallback;
  /** CallHook retries after a script ends unanswered. Default 3 (SPEC §4). */
  maxRetries?: number;
  /** DEFAULT_RINGTONE. Default `file:/uk.wav`. */
  defaultRingtone?: string;
  clock?: CallClock;
  logger?: Logger;
  /** Shared counters (one object per PBX). */
  counters?: CallCounters;
  /** A script to run instead of asking the CallHook first (validated like a hook reply). */
  initialScript?: unknown;
}

/**
 * A redirect of a live call (SPEC §7, PUT /domains/:d/calls/:id): new verbs, or a new CallHook (asked with
 * count 0) with an optional new StatusHook (kept unchanged when absent).
 */
export type CallRedirectRequest = { script: unknown } | { callHook: HookTarget; statusHook?: HookTarget };

/** What the SIP layer answers a REFER with: 202 when accepted, else `status` (RFC 3515 §2.4.2). */
export interface TransferDecision {
  accepted: boolean;
  status: number;
  reason: string;
  /** Set when refused. */
  code?: 'DPBX_ERR_CALL_TRANSFER_REFUSED';
}

const refuse = (status: number, reason: string): TransferDecision => ({ accepted: false, status, reason, code: 'DPBX_ERR_CALL_TRANSFER_REFUSED' });

export interface ReferOptions {
  /** Which party sent the REFER. */
  by: 'caller' | 'callee';
  /** Progress for the NOTIFY sipfrag bodies (RFC 3515 §2.4.5): 100 Trying, then 200 OK or the failure. */
  notify?: (status: number, reason: string) => void;
}

interface TransferState {
  referTo: string;
  to: string;
  by: 'caller' | 'callee';
  notify: ((status: number, reason: string) => void) | undefined;
  referrer?: { hangup(): void | Promise<void> };
  released: boolean;
  completed: boolean;
  failed: boolean;
}

type Gone = 'cancel' | 'hangup' | 'terminate';
type ScriptResult = { kind: 'ended' } | { kind: 'exhausted' } | { kind: 'redirected' } | { kind: 'transfer'; winner: OutboundAttempt };
type PendingRedirect = { script: CallScript } | { callHook: HookTarget; statusHook?: HookTarget };

const REASONS: Record<number, string> = {
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy', 380: 'Alternative Service',
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 410: 'Gone', 480: 'Temporarily Unavailable',
  483: 'Too Many Hops', 484: 'Address Incomplete', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  500: 'Server Internal Error', 503: 'Service Unavailable', 504: 'Server Time-out', 600: 'Busy Everywhere', 603: 'Decline',
  604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
};

export function reasonPhrase(code: number): string {
  return REASONS[code] ?? (code < 400 ? 'Redirection' : code < 500 ? 'Client Error' : code < 600 ? 'Server Error' : 'Global Failure');
}

/** A config Hook (lib/config) as a HookClient target: URL, `file:` with the resolved path, or the function. */
export function hookTarget(h: Hook): HookTarget {
  switch (h.kind) {
    case 'url':
      return h.url;
    case 'file':
      return `file:${h.path}`;
    case 'function':
      return (body) => h.fn(body);
  }
}

/** The user part of a Refer-To value (`<sip:1003@pbx;transport=tcp?Replaces=...>` → `1003`), or undefined. */
export function referToUser(referTo: string): string | undefined {
  const uri = referToUri(referTo);
  const m = /^(?:sips?|tel):([^@;?]+)(?:@|$|;|\?)/i.exec(uri);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1]!;
  }
}

function referToUri(referTo: string): string {
  const v = referTo.trim();
  const lt = v.indexOf('<');
  const inner = lt >= 0 ? v.slice(lt + 1, v.indexOf('>', lt) >= 0 ? v.indexOf('>', lt) : undefined) : v.split(/[;\s]/)[0]!;
  return inner.trim();
}

/** The remaining party of a caller-initiated transfer: the answered callee, seen as the party to connect. */
function partyFromAttempt(a: OutboundAttempt): InboundLeg {
  return {
    id: a.id,
    isAnswered: true,
    early() {},
    answer() {},
    reject: () => a.hangup(),
    hangup: () => a.hangup(),
    onCancel() {},
    onHangup(fn) {
      a.on('hangup', () => fn());
    },
  };
}

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

export class CallScriptExecutor {
  readonly call: Call;
  readonly counters: CallCounters;
  private party: InboundLeg;
  private readonly dialer: Dialer;
  private readonly media: MediaControl;
  private readonly resolver: ConnectContext['resolver'];
  private readonly hooks: CallHookClient;
  private callHook: HookTarget;
  private readonly fallback: CallFallback;
  private readonly maxRetries: number;
  private readonly defaultRingtone: string;
  private readonly clock: CallClock;
  private readonly log: Logger | undefined;
  private readonly reporter: StatusReporter;
  private readonly initialScript: unknown;
  private readonly hasInitialScript: boolean;
  private gone: Gone | undefined;
  private wakeGone!: () => void;
  private readonly gonePromise: Promise<void>;
  private interrupt: ((why: Gone | 'transfer' | 'redirect') => void) | undefined;
  /** A redirect not yet acted on (the latest wins). */
  private pendingRedirect: PendingRedirect | undefined;
  /** Wakes a CallHook request in progress when a redirect arrives (its late reply is ignored). */
  private wakeRedirect: (() => void) | undefined;
  /** A final response or BYE to the party is on its way: too late for a redirect. */
  private closing = false;
  private activeConnect: ConnectRun | undefined;
  private earlySentTo: InboundLeg | undefined;
  private hookContext: { refer: boolean; to: string | undefined } = { refer: false, to: undefined };
  private transfer: TransferState | undefined;
  private ended = false;
  private runPromise: Promise<CallEndCause> | undefined;

  constructor(opts: CallScriptExecutorOptions) {
    this.call = opts.call;
    this.party = opts.inbound;
    this.dialer = opts.dialer;
    this.media = opts.media;
    this.resolver = opts.resolver;
    this.hooks = opts.hooks;
    this.callHook = opts.callHook;
    this.fallback = opts.fallback ?? {};
    this.maxRetries = opts.maxRetries ?? 3;
    this.defaultRingtone = opts.defaultRingtone ?? 'file:/uk.wav';
    this.clock = opts.clock ?? systemCallClock;
    this.log = opts.logger ? lazyChild(opts.logger, { ns: 'call', call: this.call.id }) : undefined;
    this.counters = opts.counters ?? newCallCounters();
    this.reporter = new StatusReporter(opts.status, opts.statusHook, this.call.info.callId);
    this.hasInitialScript = 'initialScript' in opts && opts.initialScript !== undefined;
    this.initialScript = opts.initialScript;
    this.gonePromise = new Promise((r) => (this.wakeGone = r));
  }

  /** StatusHook event names sent so far, in order. */
  get statusEvents(): readonly string[] {
    return this.reporter.sent;
  }

  /** Run the call to its end. Idempotent; never rejects; resolves with the end cause. */
  run(): Promise<CallEndCause> {
    if (!this.runPromise) {
      this.counters.calls++;
      this.runPromise = this.main()
        .catch(async (err) => {
          this.counters.internalErrors++;
          this.log?.error({ code: 'DPBX_ERR_CALL_INTERNAL', err: (err as Error)?.message ?? String(err) }, 'call engine failure');
          await this.releaseParty(500, reasonPhrase(500));
          this.end('error');
        })
        .then(() => this.call.cause ?? 'error');
    }
    return this.runPromise;
  }

  /** End the call from the PBX side (DELETE /calls/:id, shutdown): cancel forks, BYE or 480 the caller. */
  terminate(): void {
    this.shielded(() => this.partyGone('terminate'));
  }

  /**
   * A REFER from a bridged party (SPEC §6). Returns at once with what to answer the REFER with; progress goes to
   * `notify` for the NOTIFYs. Blind transfer only: a Refer-To with Replaces (attended transfer) gets 501.
   */
  referRequested(referTo: string, opts: ReferOptions): TransferDecision {
    if (this.ended) return refuse(481, 'Call/Transaction Does Not Exist');
    const t = this.transfer;
    if (t && !t.completed && !t.failed) return refuse(491, 'Request Pending');
    if (!this.activeConnect?.isBridged) return refuse(403, 'Call Not Connected');
    if (/[?&]replaces=/i.test(referTo)) return refuse(501, 'Attended Transfer Not Implemented');
    const to = referToUser(referTo);
    if (!to) return refuse(400, 'Bad Refer-To');
    this.transfer = { referTo: referToUri(referTo), to, by: opts.by, notify: opts.notify, released: false, completed: false, failed: false };
    this.call.transfers++;
    this.counters.transfers++;
    this.reporter.emit('transfer:requested', { referTo: this.transfer.referTo });
    this.activeConnect.interrupt('transfer');
    return { accepted: true, status: 202, reason: 'Accepted' };
  }

  /**
   * Redirect the live call (SPEC §7, PUT /domains/:d/calls/:id). The running verb is interrupted — a connect
   * CANCELs its ringing forks (RFC 3326 Reason `SIP;cause=487;text="Call redirected"`) or, when bridged, BYEs the
   * callee (the caller stays); a pause or an announcement is aborted; a CallHook request in progress is abandoned
   * — then the new script runs, or the new CallHook is asked with `count: 0` (its StatusHook, when given, gets the
   * events from then on). The retry count starts again. Returns false when the call has ended (or is ending).
   * An invalid script throws `CallScriptError` (`DPBX_ERR_CALLSCRIPT_INVALID`) and changes nothing.
   */
  redirect(r: CallRedirectRequest): boolean {
    if (this.ended || this.gone || this.closing) return false;
    const next: PendingRedirect =
      'script' in r
        ? { script: parseCallScript(r.script) }
        : { callHook: r.callHook, ...(r.statusHook !== undefined ? { statusHook: r.statusHook } : {}) };
    this.pendingRedirect = next;
    this.counters.redirects++;
    this.log?.info({ kind: 'script' in next ? 'script' : 'callHook' }, 'call redirected');
    this.shielded(() => {
      this.wakeRedirect?.();
      this.interrupt?.('redirect');
    });
    return true;
  }

  // ------------------------------------------------------------------ main loop

  private async main(): Promise<void> {
    this.attachParty(this.party);
    this.call.transition(CallState.Routing);
    let script = this.hasInitialScript ? await this.validateInitial() : await this.fetch(0);
    let count = 0;
    while (!this.ended) {
      if (this.gone) return this.afterGone();
      const redirect = this.pendingRedirect;
      if (redirect) {
        // SPEC §7 redirect: the new script (or the new CallHook's, asked with count 0) replaces the current one
        // and the retry counting starts again for it.
        this.pendingRedirect = undefined;
        count = 0;
        if ('script' in redirect) script = redirect.script;
        else {
          this.callHook = redirect.callHook;
          if (redirect.statusHook !== undefined) this.reporter.setTarget(redirect.statusHook);
          script = await this.fetch(0);
        }
        continue;
      }
      if (!script) return; // the fetch ended the call
      const result = await this.runScript(script);
      if (result.kind === 'ended' || this.ended) return;
      if (result.kind === 'redirected') continue;
      if (result.kind === 'transfer') {
        script = await this.beginTransfer(result.winner);
        count = 0;
        continue;
      }
      // SPEC §4: "After the script, if the call got no final answer and is still up, the CallHook is asked again
      // with count incremented (count 1, 2, 3 — three retries) and the NEW script runs; after that, 480."
      if (count >= this.maxRetries) {
        await this.giveUp(this.finalCode(), this.fallback.reason, this.party.isAnswered ? 'script-ended' : 'unanswered');
        return;
      }
      count++;
      this.counters.retries++;
      script = await this.fetch(count);
    }
  }

  private async validateInitial(): Promise<CallScript | undefined> {
    try {
      return parseCallScript(this.initialScript);
    } catch (err) {
      const e = err as CallScriptError;
      this.counters.hookErrors++;
      this.reporter.emit('hook:error', { code: e.code ?? 'DPBX_ERR_CALLSCRIPT_INVALID', reason: e.message });
      await this.giveUp(this.finalCode(), this.fallback.reason, 'hook-failed');
      return undefined;
    }
  }

  private finalCode(): number {
    const c = this.fallback.code;
    return c !== undefined && Number.isInteger(c) && c >= 300 && c <= 699 ? c : 480;
  }

  private async runScript(script: CallScript): Promise<ScriptResult> {
    for (const verb of script) {
      if (this.ended) return { kind: 'ended' };
      if (this.gone) {
        await this.afterGone();
        return { kind: 'ended' };
      }
      if (this.pendingRedirect) return { kind: 'redirected' };
      switch (verb.verb) {
        case 'connect': {
          const outcome = await this.connect(verb);
          switch (outcome.kind) {
            case 'unanswered':
              break;
            case 'caller-gone':
            case 'terminated':
              await this.afterGone();
              return { kind: 'ended' };
            case 'callee-hangup':
              // SPEC §4 `reconnect`: the callee hung up, the caller stays and the script goes on.
              if (verb.reconnect && !this.gone) break;
              await this.guard('hangup caller', () => this.party.hangup());
              this.end('callee-hangup');
              return { kind: 'ended' };
            case 'transfer':
              return { kind: 'transfer', winner: outcome.winner };
            case 'redirected':
              break;
          }
          break;
        }
        case 'announce':
          await this.announce(verb);
          break;
        case 'response':
          await this.respond(verb);
          return { kind: 'ended' };
        case 'pause':
          await this.pause(verb);
          break;
      }
    }
    if (this.gone) {
      await this.afterGone();
      return { kind: 'ended' };
    }
    if (this.pendingRedirect) return { kind: 'redirected' };
    return { kind: 'exhausted' };
  }

  // ------------------------------------------------------------------ hooks

  private hookBody(count: number): Record<string, unknown> {
    const i = this.call.info;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(i.headers ?? {})) if (!SECRET_HEADERS.has(k.toLowerCase())) headers[k] = v;
    // SPEC §3 CallHook body. `trunk` is {id, name} only: trunk credentials never leave the PBX (SPEC §8).
    return {
      domain: i.domain,
      from: i.from,
      to: this.hookContext.to ?? i.to,
      callId: i.callId,
      sourceAddress: i.sourceAddress,
      source: i.source,
      ...(i.trunk ? { trunk: { id: i.trunk.id, name: i.trunk.name } } : {}),
      headers,
      refer: this.hookContext.refer,
      count,
    };
  }

  /**
   * Ask the CallHook (then the fallback hook); on failure apply the final code. Undefined = no script to run:
   * the call ended, the party left, or a redirect arrived (the main loop acts on it; the late reply is ignored).
   */
  private async fetch(count: number): Promise<CallScript | undefined> {
    const body = this.hookBody(count);
    const targets = [this.callHook, ...(this.fallback.callHook ? [this.fallback.callHook] : [])];
    const redirected = new Promise<undefined>((r) => (this.wakeRedirect = () => r(undefined)));
    try {
      for (const target of targets) {
        if (this.pendingRedirect) return undefined;
        this.call.hookRequests++;
        this.counters.hookRequests++;
        const res = await Promise.race([this.askHook(target, body), this.gonePromise.then(() => undefined), redirected]);
        if (!res || this.gone || this.ended || this.pendingRedirect) return undefined;
        if (res.ok) return res.script;
        this.counters.hookErrors++;
        this.reporter.emit('hook:error', { code: res.code, reason: res.reason });
      }
    } finally {
      this.wakeRedirect = undefined;
    }
    if (this.pendingRedirect) return undefined;
    await this.giveUp(this.finalCode(), this.fallback.reason, 'hook-failed');
    return undefined;
  }

  private async askHook(
    target: HookTarget,
    body: Record<string, unknown>,
  ): Promise<{ ok: true; script: CallScript } | { ok: false; code: string; reason: string }> {
    try {
      const reply = await this.hooks.call('callhook', target, { ...body });
      return { ok: true, script: parseCallScript(reply.body) };
    } catch (err) {
      if (err instanceof HookError || err instanceof CallScriptError) return { ok: false, code: err.code, reason: err.message };
      return { ok: false, code: 'DPBX_ERR_CALL_HOOK_FAILED', reason: (err as Error)?.message ?? String(err) };
    }
  }

  // ------------------------------------------------------------------ verbs

  private connectContext(label: ConnectVerb['statusLabel']): ConnectContext {
    return {
      call: this.call,
      party: this.party,
      dialer: this.dialer,
      media: this.media,
      resolver: this.resolver,
      clock: this.clock,
      reporter: this.reporter.forVerb(label),
      defaultRingtone: this.defaultRingtone,
      from: this.call.info.from,
      guard: (what, fn) => this.guard(what, fn),
      ensureEarly: () => this.ensureEarly(),
      answerParty: () => this.answerParty(),
      onAnswered: (dest) => this.onConnectAnswered(dest),
    };
  }

  private async connect(verb: ConnectVerb): Promise<ConnectOutcome> {
    const run = new ConnectRun(verb, this.connectContext(verb.statusLabel));
    this.activeConnect = run;
    this.interrupt = (why) => run.interrupt(why);
    try {
      return await run.run();
    } finally {
      this.interrupt = undefined;
      this.activeConnect = undefined;
    }
  }

  private async announce(verb: AnnounceVerb): Promise<void> {
    const r = this.reporter.forVerb(verb.statusLabel);
    // SPEC §4: before answer the announcement is early media (183 with SDP); after answer it plays in the call.
    if (!this.party.isAnswered) await this.ensureEarly();
    if (this.gone || this.pendingRedirect) return;
    const party = this.party;
    r.emit('playback:start', {});
    const ac = new AbortController();
    const aborted = new Promise<'aborted'>((res) => ac.signal.addEventListener('abort', () => res('aborted'), { once: true }));
    this.interrupt = () => ac.abort();
    const started = this.clock.now();
    try {
      const res = await Promise.race([Promise.resolve().then(() => this.media.play(party, verb.url, ac.signal)), aborted]);
      r.emit('playback:complete', { durationMs: res === 'aborted' ? this.clock.now() - started : Math.max(0, Math.round(res.durationMs)) });
    } catch (err) {
      r.emit('playback:failed', { error: String((err as Error)?.message ?? err).slice(0, 256) });
    } finally {
      this.interrupt = undefined;
    }
  }

  private async respond(verb: ResponseVerb): Promise<void> {
    const r = this.reporter.forVerb(verb.statusLabel);
    this.closing = true;
    if (!this.party.isAnswered) {
      const reason = verb.reason ?? reasonPhrase(verb.code);
      const res = await this.guard('reject', () => this.party.reject(verb.code, reason, verb.headers ? { ...verb.headers } : undefined));
      this.call.finalStatus = verb.code;
      if (res.ok) r.emit('response:sent', { code: verb.code });
    } else {
      // Deliberate deviation: a final response is impossible after a 2xx (RFC 3261 §13.2.2.4 / §15); an answered
      // caller gets a BYE instead and no response:sent is reported.
      await this.guard('hangup caller', () => this.party.hangup());
    }
    this.end('response');
  }

  private async pause(verb: PauseVerb): Promise<void> {
    const r = this.reporter.forVerb(verb.statusLabel);
    r.emit('pause:start', {});
    // SPEC §4: "pause {duration}: waits; a caller CANCEL ends it at once."
    await new Promise<void>((resolve) => {
      const h = this.clock.setTimeout(() => {
        this.interrupt = undefined;
        resolve();
      }, verb.duration * 1000);
      this.interrupt = () => {
        this.clock.clearTimeout(h);
        this.interrupt = undefined;
        resolve();
      };
    });
    r.emit('pause:complete', {});
  }

  // ------------------------------------------------------------------ party and media

  private attachParty(leg: InboundLeg): void {
    try {
      leg.onCancel(() =>
        this.shielded(() => {
          if (leg === this.party) this.partyGone('cancel');
        }),
      );
      leg.onHangup(() =>
        this.shielded(() => {
          if (leg === this.party) this.partyGone('hangup');
          else if (this.transfer?.referrer === leg) this.transfer.released = true;
        }),
      );
    } catch (err) {
      void this.guard('attach listeners', () => {
        throw err;
      });
    }
  }

  /** Run engine code called from a binding's event: an engine bug must not throw into the SIP layer. */
  private shielded(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.counters.internalErrors++;
      this.log?.error({ code: 'DPBX_ERR_CALL_INTERNAL', err: (err as Error)?.message ?? String(err) }, 'call engine failure');
    }
  }

  private partyGone(kind: Gone): void {
    if (this.ended || this.gone) return;
    // RFC 3261 §9.2: a CANCEL after the 2xx has no effect (the caller must send BYE).
    if (kind === 'cancel' && this.party.isAnswered) return;
    this.gone = kind;
    this.wakeGone();
    this.interrupt?.(kind);
  }

  /** The party left or the PBX ended the call: release what is left and end. */
  private async afterGone(): Promise<void> {
    switch (this.gone) {
      case 'cancel':
        // The binding already answered the CANCEL (200) and the INVITE (487). When our 200 crossed the CANCEL
        // (RFC 3261 §9.2: the CANCEL then has no effect), the caller is answered and gets a BYE instead.
        if (this.party.isAnswered) await this.guard('hangup caller', () => this.party.hangup());
        else this.call.finalStatus = 487;
        return this.end('caller-cancel');
      case 'hangup':
        return this.end('caller-hangup');
      case 'terminate':
        await this.releaseParty(480, reasonPhrase(480));
        return this.end('terminated');
      default:
        // A connect ended itself because a binding failed (e.g. the 200 to the caller could not be sent).
        await this.releaseParty(500, reasonPhrase(500));
        return this.end('error');
    }
  }

  private async releaseParty(code: number, reason: string): Promise<void> {
    if (this.party.isAnswered) await this.guard('hangup caller', () => this.party.hangup());
    else {
      this.call.finalStatus = code;
      await this.guard('reject', () => this.party.reject(code, reason));
    }
  }

  private async ensureEarly(): Promise<void> {
    const party = this.party;
    if (party.isAnswered || this.earlySentTo === party) return;
    this.earlySentTo = party;
    const sdp = await this.guard('localSdp', () => this.media.localSdp(party));
    if (this.gone || this.ended) return;
    await this.guard('early', () => party.early(sdp.ok ? sdp.value : undefined));
  }

  private async answerParty(): Promise<boolean> {
    const party = this.party;
    if (party.isAnswered) return true;
    const sdp = await this.guard('localSdp', () => this.media.localSdp(party));
    if (this.gone || this.ended) return false;
    const res = await this.guard('answer', () => party.answer(sdp.ok ? sdp.value : undefined));
    if (!res.ok) return false;
    if (this.call.state === CallState.Ringing) {
      this.call.transition(CallState.Answered);
      this.counters.answered++;
    }
    // A CANCEL that arrived while the 200 was being built: the connect releases the callee, afterGone the caller.
    return !this.gone;
  }

  private async guard<T>(what: string, fn: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      this.counters.controlErrors++;
      this.log?.warn({ code: 'DPBX_ERR_CALL_CONTROL', what, err: (err as Error)?.message ?? String(err) }, 'call control failed');
      return { ok: false };
    }
  }

  // ------------------------------------------------------------------ transfer

  private async beginTransfer(winner: OutboundAttempt): Promise<CallScript | undefined> {
    const t = this.transfer!;
    this.notify(t, 100, 'Trying');
    const before = this.party;
    if (t.by === 'callee') {
      t.referrer = winner;
    } else {
      t.referrer = before;
      this.party = partyFromAttempt(winner);
      this.attachParty(this.party);
    }
    // The two bridged legs part; the remaining one hears the new script's ringback or announcement.
    await this.guard('unbridge', () => {
      this.media.unbridge(before);
      this.media.unbridge(winner);
    });
    // SPEC §6: "CallHook with refer: true and to = the Refer-To user; the new script connects the remaining party".
    this.hookContext = { refer: true, to: t.to };
    return this.fetch(0);
  }

  private onConnectAnswered(_dest: DestSummary): void {
    const t = this.transfer;
    if (!t || t.completed || t.failed) return;
    t.completed = true;
    this.reporter.emit('transfer:complete', {});
    this.notify(t, 200, 'OK');
    this.releaseReferrer(t);
  }

  private failTransfer(code: number, reason: string): void {
    const t = this.transfer;
    if (!t || t.completed || t.failed) return;
    t.failed = true;
    this.counters.transfersFailed++;
    this.reporter.emit('transfer:failed', {});
    this.notify(t, code, reason);
    this.releaseReferrer(t);
  }

  private releaseReferrer(t: TransferState): void {
    if (t.released || !t.referrer) return;
    t.released = true;
    const r = t.referrer;
    void this.guard('release referrer', () => r.hangup());
  }

  private notify(t: TransferState, status: number, reason: string): void {
    if (!t.notify) return;
    try {
      t.notify(status, reason);
    } catch (err) {
      this.counters.controlErrors++;
      this.log?.warn({ what: 'notify', err: (err as Error)?.message ?? String(err) }, 'call control failed');
    }
  }

  // ------------------------------------------------------------------ the end

  private async giveUp(code: number, reason: string | undefined, cause: CallEndCause): Promise<void> {
    if (this.ended) return;
    this.closing = true;
    const phrase = reason ?? reasonPhrase(code);
    this.failTransfer(code, phrase);
    await this.releaseParty(code, phrase);
    this.end(cause);
  }

  private end(cause: CallEndCause): void {
    if (this.ended) return;
    this.ended = true;
    this.interrupt = undefined;
    this.failTransfer(487, 'Request Terminated');
    if (this.transfer) this.releaseReferrer(this.transfer);
    try {
      this.media.close();
    } catch (err) {
      this.counters.controlErrors++;
      this.log?.warn({ what: 'media close', err: (err as Error)?.message ?? String(err) }, 'call control failed');
    }
    const cdr = this.call.close(cause);
    this.counters.ended++;
    this.reporter.emit('call:end', { durationMs: cdr.durationMs, cause });
    this.log?.debug({ cause, durationMs: cdr.durationMs }, 'call ended');
  }
}
