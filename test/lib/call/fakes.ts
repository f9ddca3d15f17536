// Test doubles for lib/call: a virtual clock, a fake caller leg, fake forks, fake media, a recording StatusHook
// sink and a scripted CallHook client. No sockets, no real time.
import { HookError, type HookReply, type HookTarget, type StatusEvent } from '../../../lib/hooks/index.js';
import { normalizeConfig, type Config } from '../../../lib/config/index.js';
import {
  CallRegistry,
  CallScriptExecutor,
  DestResolver,
  TypedEmitter,
  type CallCounters,
  type CallClock,
  type CallFallback,
  type CallInfo,
  type CancelReason,
  type DialOptions,
  type DialTarget,
  type InboundLeg,
  type LegRef,
  type MediaControl,
  type OutboundAttempt,
  type OutboundAttemptEvents,
  type RegisteredContact,
  type Registrations,
} from '../../../lib/call/index.js';

/** Let pending promise chains and setImmediate callbacks run. */
export async function flush(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export class FakeClock implements CallClock {
  t = 1_800_000_000_000;
  private seq = 0;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  /** Advance virtual time, firing due timers in order and letting the code react after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
    await flush();
  }
}

export class FakeInbound implements InboundLeg {
  isAnswered = false;
  readonly log: string[] = [];
  earlySdp: Array<string | undefined> = [];
  answerSdp: string | undefined;
  rejected: { code: number; reason: string; headers?: Record<string, string> | undefined } | undefined;
  hangups = 0;
  private cancelFns: Array<(r?: string) => void> = [];
  private hangupFns: Array<() => void> = [];
  constructor(readonly id = 'A') {}
  early(sdp?: string): void {
    this.earlySdp.push(sdp);
    this.log.push(sdp ? 'early 183' : 'early 180');
  }
  answer(sdp?: string): void {
    this.isAnswered = true;
    this.answerSdp = sdp;
    this.log.push('answer');
  }
  reject(code: number, reason: string, headers?: Record<string, string>): void {
    this.rejected = { code, reason, headers };
    this.log.push(`reject ${code}`);
  }
  hangup(): void {
    this.hangups++;
    this.log.push('hangup');
  }
  onCancel(fn: (r?: string) => void): void {
    this.cancelFns.push(fn);
  }
  onHangup(fn: () => void): void {
    this.hangupFns.push(fn);
  }
  /** The caller sends CANCEL. */
  cancel(): void {
    for (const f of this.cancelFns) f();
  }
  /** The caller sends BYE. */
  bye(): void {
    for (const f of this.hangupFns) f();
  }
}

export class FakeAttempt extends TypedEmitter<OutboundAttemptEvents> implements OutboundAttempt {
  cancels: Array<CancelReason | undefined> = [];
  hangups: Array<CancelReason | undefined> = [];
  constructor(
    readonly id: string,
    readonly target: DialTarget,
    readonly opts: DialOptions,
  ) {
    super();
  }
  cancel(reason?: CancelReason): void {
    this.cancels.push(reason);
  }
  hangup(reason?: CancelReason): void {
    this.hangups.push(reason);
  }
  get cancelled(): boolean {
    return this.cancels.length > 0;
  }
  /** What this attempt dials, for assertions. */
  get what(): string {
    const t = this.target;
    return t.kind === 'client' ? `client:${t.user}:${t.contact.uri}` : t.kind === 'trunk' ? `trunk:${t.trunk.name}:${t.number}` : `sip:${t.uri}`;
  }
}

export class FakeDialer {
  readonly attempts: FakeAttempt[] = [];
  private n = 0;
  /** Optional scripted reaction per dial. */
  onDial: ((a: FakeAttempt) => void) | undefined;
  dial(target: DialTarget, opts: DialOptions): OutboundAttempt {
    const a = new FakeAttempt(`B${++this.n}`, target, opts);
    this.attempts.push(a);
    this.onDial?.(a);
    return a;
  }
  byWhat(prefix: string): FakeAttempt[] {
    return this.attempts.filter((a) => a.what.startsWith(prefix));
  }
}

export class FakeMedia implements MediaControl {
  readonly log: string[] = [];
  ringing = new Set<string>();
  bridges: Array<[string, string]> = [];
  closed = 0;
  /** url → how a play behaves: a duration in ms (resolves), an Error (rejects), or 'hold' (waits for abort). */
  plays = new Map<string, number | Error | 'hold'>();
  played: Array<{ leg: string; url: string; answered: boolean }> = [];
  /** Set by the test so `played[].answered` records whether the caller was answered at play time. */
  party: FakeInbound | undefined;
  localSdp(leg: LegRef): string {
    return `v=0 sdp-for-${leg.id}`;
  }
  playRingback(leg: LegRef, tone: string): void {
    this.ringing.add(leg.id);
    this.log.push(`ringback ${leg.id} ${tone}`);
  }
  stopRingback(leg: LegRef): void {
    if (this.ringing.delete(leg.id)) this.log.push(`stop-ringback ${leg.id}`);
  }
  play(leg: LegRef, url: string, signal: AbortSignal): Promise<{ durationMs: number }> {
    this.played.push({ leg: leg.id, url, answered: this.party?.isAnswered ?? false });
    this.log.push(`play ${leg.id} ${url}`);
    const how = this.plays.get(url) ?? 1000;
    if (how instanceof Error) return Promise.reject(how);
    if (how === 'hold') return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ durationMs: 0 })));
    return Promise.resolve({ durationMs: how });
  }
  bridge(a: LegRef, b: LegRef): void {
    this.bridges.push([a.id, b.id]);
    this.log.push(`bridge ${a.id} ${b.id}`);
  }
  unbridge(leg: LegRef): void {
    this.log.push(`unbridge ${leg.id}`);
  }
  close(): void {
    this.closed++;
  }
}

export class RecordingStatus {
  readonly events: StatusEvent[] = [];
  /** The StatusHook target of each event (same order as `events`). */
  readonly targets: Array<HookTarget | undefined> = [];
  emit(target: HookTarget | undefined, ev: StatusEvent): void {
    this.events.push(JSON.parse(JSON.stringify(ev)));
    this.targets.push(target);
  }
  get names(): string[] {
    return this.events.map((e) => e.event);
  }
  named(name: string): StatusEvent[] {
    return this.events.filter((e) => e.event === name);
  }
}

/** A CallHook client answering from a list: a value (the JSON reply), an Error (hook failure), or a function. */
export class ScriptedHooks {
  readonly bodies: Array<Record<string, unknown>> = [];
  readonly targets: HookTarget[] = [];
  constructor(private readonly replies: Array<unknown | ((body: Record<string, unknown>) => unknown)>) {}
  async call(_kind: 'callhook', target: HookTarget, body: Record<string, unknown>): Promise<HookReply> {
    this.bodies.push(JSON.parse(JSON.stringify(body)));
    this.targets.push(target);
    const i = this.bodies.length - 1;
    if (i >= this.replies.length) throw new HookError('DPBX_ERR_HOOK_STATUS', 'no more scripted replies', 500);
    let r = this.replies[i];
    if (typeof r === 'function') r = await (r as (b: Record<string, unknown>) => unknown)(body);
    if (r instanceof Error) throw r;
    return { status: 200, body: r };
  }
}

export class FakeRegistrations implements Registrations {
  readonly map = new Map<string, RegisteredContact[]>();
  lookups: string[] = [];
  set(domain: string, user: string, uris: string[]): void {
    this.map.set(`${domain}|${user}`, uris.map((uri) => ({ uri, flow: { transport: 'udp', address: '127.0.0.1', port: 5070 } })));
  }
  async lookup(aor: { domain: string; user: string }) {
    this.lookups.push(`${aor.domain}|${aor.user}`);
    const contacts = this.map.get(`${aor.domain}|${aor.user}`);
    return contacts ? { contacts } : undefined;
  }
}

export const TRUNK_PASSWORD = 'tr-UNK-s3cret-pw';

export function testConfig(): Config {
  return normalizeConfig({
    domains: {
      'a.example.com': {
        clients: [{ username: '1???', password: 'client-pw' }],
        trunks: [
          {
            id: 1,
            name: 'carrier',
            inbound: ['198.51.100.0/24'],
            outbound: { host: 'sip.carrier-a.example', username: 'acct-a', password: TRUNK_PASSWORD },
          },
        ],
      },
      'b.example.com': {
        clients: [{ username: '1???', password: 'client-pw' }],
        trunks: [
          { id: 1, name: 'carrier', outbound: { host: 'sip.carrier-b.example', username: 'acct-b', password: 'b-pw' } },
          { id: 2, name: 'other-b', outbound: { host: 'sip.other-b.example' } },
        ],
      },
    },
  });
}

export interface Harness {
  exec: CallScriptExecutor;
  registry: CallRegistry;
  inbound: FakeInbound;
  dialer: FakeDialer;
  media: FakeMedia;
  status: RecordingStatus;
  hooks: ScriptedHooks;
  clock: FakeClock;
  regs: FakeRegistrations;
  done: Promise<string>;
}

export interface HarnessOptions {
  replies?: Array<unknown | ((body: Record<string, unknown>) => unknown)>;
  info?: Partial<CallInfo>;
  fallback?: CallFallback;
  maxRetries?: number;
  initialScript?: unknown;
  registrations?: FakeRegistrations;
  counters?: CallCounters;
  /** Do not start run() (tests that call it themselves). */
  noRun?: boolean;
}

export function harness(o: HarnessOptions = {}): Harness {
  const clock = new FakeClock();
  const registry = new CallRegistry({ clock });
  const regs = o.registrations ?? new FakeRegistrations();
  const config = testConfig();
  const info: CallInfo = {
    callId: 'call-1@test',
    domain: 'a.example.com',
    from: '1001',
    to: '1002',
    sourceAddress: '127.0.0.1',
    source: 'client',
    headers: { 'X-Custom': 'yes' },
    ...o.info,
  };
  const call = registry.create(info);
  const inbound = new FakeInbound();
  const dialer = new FakeDialer();
  const media = new FakeMedia();
  media.party = inbound;
  const status = new RecordingStatus();
  const hooks = new ScriptedHooks(o.replies ?? []);
  const exec = new CallScriptExecutor({
    call,
    inbound,
    dialer,
    media,
    resolver: new DestResolver({ config: () => config, registrations: regs }),
    hooks,
    callHook: 'https://app.example/callhook',
    statusHook: 'https://app.example/status',
    status,
    clock,
    defaultRingtone: 'file:/uk.wav',
    ...(o.fallback ? { fallback: o.fallback } : {}),
    ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
    ...(o.initialScript !== undefined ? { initialScript: o.initialScript } : {}),
    ...(o.counters ? { counters: o.counters } : {}),
  });
  const done = o.noRun ? Promise.resolve('not started') : exec.run();
  return { exec, registry, inbound, dialer, media, status, hooks, clock, regs, done };
}
