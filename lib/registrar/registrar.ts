/**
 * The registrar (RFC 3261 §10.3, SPEC §6): REGISTER in, SipResponse out. Pure over its inputs — the config, the
 * registration store, the RegHook client and the digest server — so the transaction layer only has to call
 * `handleRegister(req, source)` and send what it returns. It never rejects: every problem is a SIP response.
 *
 * Order of checks (RFC 3261 §10.3 steps, adapted):
 *   throttled source → 403/429 + Retry-After
 *   malformed request (To, Call-ID, CSeq, Contact, Expires) → 400
 *   step 1: domain of the Request-URI (or the To host when the Request-URI is an IP address) → 404 if unknown
 *   step 5: the To AOR must be in that domain → 404
 *   steps 2–4: digest authentication, realm = domain → 401 / 403 (static password or RegHook)
 *   step 6: `Contact: *` only alone and with Expires 0 → 400
 *   step 7: expiry per contact; 0 < requested < minimum → 423 + Min-Expires; store update (Call-ID/CSeq rule)
 *   step 8: 200 OK listing every current binding with its own expires, plus Date
 */
import {
  createResponse,
  DigestServer,
  type DigestCredentials,
  type InspectResult,
  type VerifyResult,
  SipParseError,
  type NameAddr,
  type SipRequest,
  type SipResponse,
} from '../../sip-stack/index.js';

import { findDomain, matchClient, type Client, type Config, type Domain, type Hook } from '../config/index.js';
import { HookClient, HookError, type HookTarget } from '../hooks/index.js';
import type { Logger } from '../log.js';
import type { MetricFamily } from '../metrics.js';
import {
  secondsLeft,
  StateError,
  StateUnavailableError,
  type ClientAssignment,
  type ContactBinding,
  type ContactUpdate,
  type Flow,
  type FlowTransport,
  type Registration,
  type RegistrationStore,
} from '../state/index.js';
import { contactIdentity } from './binding-key.js';
import { RegistrarError } from './errors.js';
import { FailureThrottle } from './failure-throttle.js';
import { parseRegHookReply, type RegHookBody } from './reghook.js';

/** Where the REGISTER came from (structurally a transport MessageSource). */
export interface RegisterSource {
  transport: FlowTransport | string;
  address: string;
  port: number;
  connectionId?: string;
  localAddress?: string;
  localPort?: number;
}

export interface RegistrarClock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface RegistrarOptions {
  /** The current config: a Config, or anything with `current()` (a ConfigSource). */
  config: Config | { current(): Config | undefined };
  store: RegistrationStore;
  /** RegHook calls. Default: a HookClient with its defaults (3 s timeout). */
  hooks?: HookClient;
  /** Digest challenges and verification. Default: a DigestServer (SHA-256 and MD5, nonces valid 300 s). */
  digest?: DigestServer;
  /** REGISTRATION_MIN_SECS: below this (and above 0) → 423. Default 30. */
  minExpires?: number;
  /** REGISTRATION_MAX_SECS: the most ever granted. Default 3600. */
  maxExpires?: number;
  /** Requested expiry when the REGISTER names none (RFC 3261 §10.3 step 7 "locally-configured default"). Default 3600. */
  defaultExpires?: number;
  /** Brute-force throttle. */
  throttle?: {
    /** Failed attempts per source inside the window before it is refused. Default 10. */
    maxFailures?: number;
    /** Sliding window, seconds. Default 60. */
    windowSeconds?: number;
    /** Status while refused: 403 (default) or 429; both carry Retry-After. */
    status?: 403 | 429;
  };
  /** Most Contact values accepted in one REGISTER. Default 20. */
  maxContactsPerRequest?: number;
  /** Retry-After seconds with 503 when the store or the RegHook is unavailable. Default 5. */
  retryAfterSeconds?: number;
  clock?: RegistrarClock;
  logger?: Logger;
}

export interface RegistrarCounters {
  requests: number;
  /** 200 OK answers (registrations, refreshes, removals, queries). */
  ok: number;
  /** 401 challenges sent (first leg or stale). */
  challenges: number;
  /** Failed authentication attempts (wrong password, username mismatch, RegHook reject, replay). */
  authFailures: number;
  /** Requests refused by the brute-force throttle. */
  throttled: number;
  /** 404: unknown domain, or an AOR outside the Request-URI's domain. */
  notFound: number;
  /** 400: malformed REGISTER. */
  badRequests: number;
  /** 423 Interval Too Brief. */
  intervalTooBrief: number;
  /** RegHook calls that failed (timeout, unreachable, non-2xx, bad reply). */
  hookErrors: number;
  /** RegHook replies with a status other than "ok". */
  hookRejected: number;
  /** 503 because the store was unavailable. */
  storeUnavailable: number;
  /** Updates aborted by the RFC 3261 §10.3 step 7 Call-ID/CSeq rule. */
  outOfOrder: number;
  /** Bindings removed by Expires 0 or Contact *. */
  unregistered: number;
  /** 500 for anything unexpected. */
  internalErrors: number;
}

const TRANSPORTS: readonly FlowTransport[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

interface Target {
  domain: Domain;
  user: string;
  client: Client | undefined;
}

/** Result of authentication: accepted with the assignment to store, or a response to send. */
type AuthOutcome = { ok: true; assignment: ClientAssignment; expiresCap: number | undefined } | { ok: false; response: SipResponse };

export class Registrar {
  readonly counters: RegistrarCounters = {
    requests: 0,
    ok: 0,
    challenges: 0,
    authFailures: 0,
    throttled: 0,
    notFound: 0,
    badRequests: 0,
    intervalTooBrief: 0,
    hookErrors: 0,
    hookRejected: 0,
    storeUnavailable: 0,
    outOfOrder: 0,
    unregistered: 0,
    internalErrors: 0,
  };

  readonly digest: DigestServer;
  readonly throttle: FailureThrottle;
  private readonly configOf: () => Config | undefined;
  private readonly store: RegistrationStore;
  private readonly hooks: HookClient;
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly defaultExpires: number;
  private readonly throttleStatus: 403 | 429;
  private readonly maxContactsPerRequest: number;
  private readonly retryAfter: number;
  private readonly clock: RegistrarClock;
  private readonly logger: Logger | undefined;

  constructor(o: RegistrarOptions) {
    const cfg = o.config;
    this.configOf = typeof (cfg as { current?: unknown }).current === 'function'
      ? () => (cfg as { current(): Config | undefined }).current()
      : () => cfg as Config;
    this.store = o.store;
    this.hooks = o.hooks ?? new HookClient();
    this.digest = o.digest ?? new DigestServer();
    this.minExpires = o.minExpires ?? 30;
    this.maxExpires = o.maxExpires ?? 3600;
    this.defaultExpires = o.defaultExpires ?? 3600;
    this.maxContactsPerRequest = o.maxContactsPerRequest ?? 20;
    this.retryAfter = o.retryAfterSeconds ?? 5;
    const int = (v: number, name: string, min: number) => {
      if (!Number.isInteger(v) || v < min) throw new RegistrarError('DPBX_ERR_REGISTRAR_OPTIONS', `${name} must be an integer >= ${min}`);
    };
    int(this.minExpires, 'minExpires', 1);
    int(this.maxExpires, 'maxExpires', 1);
    int(this.defaultExpires, 'defaultExpires', 1);
    int(this.maxContactsPerRequest, 'maxContactsPerRequest', 1);
    int(this.retryAfter, 'retryAfterSeconds', 1);
    if (this.maxExpires < this.minExpires) throw new RegistrarError('DPBX_ERR_REGISTRAR_OPTIONS', 'maxExpires must not be below minExpires');
    const t = o.throttle ?? {};
    this.throttleStatus = t.status ?? 403;
    if (this.throttleStatus !== 403 && this.throttleStatus !== 429) throw new RegistrarError('DPBX_ERR_REGISTRAR_OPTIONS', 'throttle.status must be 403 or 429');
    try {
      this.throttle = new FailureThrottle({ maxFailures: t.maxFailures ?? 10, windowMs: (t.windowSeconds ?? 60) * 1000 });
    } catch (err) {
      throw new RegistrarError('DPBX_ERR_REGISTRAR_OPTIONS', `throttle: ${(err as Error).message}`);
    }
    this.clock = o.clock ?? { now: () => Date.now() };
    this.logger = o.logger;
  }

  /** Answers one REGISTER. Never rejects. */
  async handleRegister(req: SipRequest, source: RegisterSource): Promise<SipResponse> {
    this.counters.requests++;
    let res: SipResponse;
    try {
      res = await this.process(req, source);
    } catch (err) {
      res = this.errorResponse(req, err);
    }
    this.logger?.debug(
      { source: `${source.address}:${source.port}`, transport: source.transport, status: res.status, callId: safeCallId(req) },
      'REGISTER answered',
    );
    return res;
  }

  /** The current contacts of a user with the flows to reach them (for the call layer). */
  /**
   * Authenticates a client's out-of-dialog request other than REGISTER (an INVITE): the same digest, RegHook and
   * throttle rules as REGISTER, realm = the domain, the digest username must be the From user. Never rejects.
   * Returns the client and its assignment, or the response to send (401 challenge, 403, 503, ...).
   */
  async authenticateCaller(
    req: SipRequest,
    source: RegisterSource,
    domainName: string,
  ): Promise<{ ok: true; client: Client; assignment: ClientAssignment } | { ok: false; response: SipResponse }> {
    try {
      const now = this.clock.now();
      const blocked = this.throttle.blockedFor(source.address, now);
      if (blocked > 0) {
        this.counters.throttled++;
        return { ok: false, response: this.reply(req, this.throttleStatus, this.throttleStatus === 429 ? 'Too Many Requests' : 'Forbidden (too many failed attempts)', { 'Retry-After': blocked }) };
      }
      const config = this.configOf();
      const domain = config && findDomain(config, domainName);
      if (!domain) return { ok: false, response: this.reply(req, 404, 'Domain Not Served') };
      const from = req.from;
      const user = from?.uri.user;
      if (!from || !user) return { ok: false, response: this.bad(req, 'From has no user') };
      const client = matchClient(domain, user);
      const auth = await this.authenticate(req, source, { domain, user, client }, 0, now);
      if (!auth.ok) return auth;
      return { ok: true, client: client!, assignment: auth.assignment };
    } catch (err) {
      return { ok: false, response: this.errorResponse(req, err) };
    }
  }

  async locate(domain: string, user: string): Promise<Registration | undefined> {
    return this.store.lookup({ domain, user });
  }

  /** Counters and the throttled-sources gauge as Prometheus families (register with MetricsRegistry.register). */
  metrics(): MetricFamily[] {
    const out: MetricFamily[] = Object.entries(this.counters).map(([field, value]) => ({
      name: `dpbx_registrar_${field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}_total`,
      help: `registrar: ${field}`,
      type: 'counter',
      samples: [{ value }],
    }));
    out.push({
      name: 'dpbx_registrar_throttled_sources',
      help: 'registrar: sources currently refused by the brute-force throttle',
      type: 'gauge',
      samples: [{ value: this.throttle.blockedSources(this.clock.now()) }],
    });
    return out;
  }

  // ------------------------------------------------------------ the steps

  private async process(req: SipRequest, source: RegisterSource): Promise<SipResponse> {
    if (req.method !== 'REGISTER') {
      return this.reply(req, 405, undefined, { Allow: 'REGISTER' });
    }
    const now = this.clock.now();
    // Brute-force protection first: a refused source learns nothing more.
    const blocked = this.throttle.blockedFor(source.address, now);
    if (blocked > 0) {
      this.counters.throttled++;
      return this.reply(req, this.throttleStatus, this.throttleStatus === 429 ? 'Too Many Requests' : 'Forbidden (too many failed attempts)', {
        'Retry-After': blocked,
      });
    }

    // Syntax of what the registrar relies on; a malformed value throws SipParseError → 400 below.
    const to = req.to;
    const callId = req.callId;
    const cseq = req.cseq;
    if (!to || !callId || !cseq || !req.from) return this.bad(req, 'Missing To, From, Call-ID or CSeq');
    if (cseq.method !== 'REGISTER') return this.bad(req, 'CSeq method does not match');
    const contact = req.contact;
    const headerExpires = req.expires;

    const config = this.configOf();
    if (!config) {
      return this.reply(req, 503, 'Configuration Not Loaded', { 'Retry-After': this.retryAfter });
    }
    const target = this.resolveTarget(req, config, to);
    if ('response' in target) return target.response;

    // RFC 3261 §10.3 step 6: "If the request has additional Contact fields or an expiration time other than zero,
    // the request is invalid, and the server MUST return a 400 (Invalid Request)".
    if (contact === '*' && headerExpires !== 0) return this.bad(req, 'Contact * requires Expires: 0');
    const contacts = contact === '*' || contact === undefined ? [] : contact;
    if (contacts.length > this.maxContactsPerRequest) return this.bad(req, 'Too many Contact values');
    for (const c of contacts) {
      if (c.uri.scheme !== 'sip' && c.uri.scheme !== 'sips') return this.bad(req, 'Contact URI must be sip: or sips:');
    }
    // The expiry the UA asks for, before any policy (also what the RegHook is told).
    const requested = contacts.map((c) => this.requestedExpires(c, headerExpires));
    const requestedOverall = contact === '*' ? 0 : requested.length > 0 ? Math.max(...requested) : (headerExpires ?? this.defaultExpires);

    // RFC 3261 §10.3 steps 2–4: authenticate; realm = domain (SPEC §6).
    const auth = await this.authenticate(req, source, target, requestedOverall, now);
    if (!auth.ok) return auth.response;

    // RFC 3261 §10.3 step 7: "If and only if the requested expiration interval is greater than zero AND smaller
    // than one hour AND less than a registrar-configured minimum, the registrar MAY reject the registration with
    // a response of 423 (Interval Too Brief)." Deviation: SPEC §1 makes the minimum a hard floor, so a minimum
    // above one hour is enforced too.
    if (requested.some((e) => e > 0 && e < this.minExpires)) {
      this.counters.intervalTooBrief++;
      // RFC 3261 §20.23: "Min-Expires ... MUST be included in a 423".
      return this.reply(req, 423, 'Interval Too Brief', { 'Min-Expires': this.minExpires });
    }

    const cap = Math.min(this.maxExpires, auth.expiresCap ?? Infinity);
    const updates: ContactUpdate[] = contacts.map((c, i) => {
      const id = contactIdentity(c);
      const e = requested[i]!;
      // Granted = min(requested, client/RegHook expires, MAX); 0 stays 0 (removal is never clamped up: SPEC §8).
      const u: ContactUpdate = { uri: c.uri.toString(), key: id.key, expires: e === 0 ? 0 : Math.max(1, Math.min(e, cap)) };
      if (id.instance !== undefined) u.instance = id.instance;
      if (id.regId !== undefined) u.regId = id.regId;
      if (c.q !== undefined) u.q = c.q;
      return u;
    });

    const flow = this.flowOf(source);
    const ua = req.get('User-Agent');
    const path = req.getAll('Path');
    const result = await this.store.register(
      { domain: target.domain.name, user: target.user },
      {
        callId,
        cseq: cseq.seq,
        flow,
        contacts: updates,
        ...(contact === '*' ? { removeAll: true } : {}),
        maxContacts: target.client?.maxContacts ?? 1,
        ...(ua ? { userAgent: ua.slice(0, 256) } : {}),
        ...(path.length ? { path } : {}),
        ...(updates.some((u) => u.expires > 0) ? { assignment: auth.assignment } : {}),
      },
    );
    if (result.outcome === 'out-of-order') {
      this.counters.outOfOrder++;
      // RFC 3261 §10.3 step 7: "If not, the update MUST be aborted and the request fails."
      return this.reply(req, 500, 'Out of Order CSeq', { 'Retry-After': 1 });
    }
    this.counters.unregistered += result.removed.length;
    for (const e of result.evicted) {
      this.logger?.debug({ domain: target.domain.name, user: target.user, contact: e.uri }, 'binding evicted (maxContacts)');
    }
    return this.okResponse(req, result.contacts, this.clock.now(), contacts);
  }

  /**
   * RFC 3261 §10.3 step 1: "The registrar inspects the Request-URI to determine whether it has access to bindings
   * for the domain identified in the Request-URI." Many phones put the PBX's IP address there instead of the
   * domain; then the To host names the domain. Step 5: "If the address-of-record is not valid for the domain in
   * the Request-URI, the registrar MUST send a 404 (Not Found)".
   */
  private resolveTarget(req: SipRequest, config: Config, to: NameAddr): Target | { response: SipResponse } {
    const ruri = req.uri;
    if (ruri.scheme !== 'sip' && ruri.scheme !== 'sips') {
      return { response: this.reply(req, 416, 'Unsupported URI Scheme') };
    }
    const toUri = to.uri;
    let domain = findDomain(config, ruri.hostname);
    if (!domain && isIpLiteral(ruri.hostname)) domain = findDomain(config, toUri.hostname);
    if (!domain) {
      this.counters.notFound++;
      return { response: this.reply(req, 404, 'Domain Not Served') };
    }
    const toDomain = toUri.hostname.replace(/\.$/, '');
    if ((toUri.scheme !== 'sip' && toUri.scheme !== 'sips') || toDomain !== domain.name || !toUri.user) {
      this.counters.notFound++;
      return { response: this.reply(req, 404, 'Not Found (address-of-record not in this domain)') };
    }
    return { domain, user: toUri.user, client: matchClient(domain, toUri.user) };
  }

  /** RFC 3261 §10.3 step 7: Contact expires param, else the Expires header, else the local default. */
  private requestedExpires(c: NameAddr, headerExpires: number | undefined): number {
    return c.expires ?? headerExpires ?? this.defaultExpires;
  }

  // ------------------------------------------------------------ authentication

  private async authenticate(req: SipRequest, source: RegisterSource, t: Target, requested: number, now: number): Promise<AuthOutcome> {
    const realm = t.domain.name;
    if (t.client?.auth.kind === 'reghook') return this.authenticateByHook(req, source, t, realm, requested, now);

    // Static password (or no client at all: answered exactly like a wrong password so users cannot be probed).
    const inspected = this.digest.inspect(req, { realm });
    if (inspected.ok && inspected.credentials.username !== t.user) {
      // The digest username must be the registering user: valid credentials of one user never bind another's AOR.
      return this.authFailure(req, source, now, 'username does not match the address-of-record');
    }
    if (!inspected.ok) {
      const early = this.inspectFailure(req, source, inspected, realm, now);
      if (early) return early;
    }
    const password = t.client?.auth.kind === 'password' ? t.client.auth.password : undefined;
    const r: VerifyResult = this.digest.verify(req, (username) => (username === t.user ? password : undefined), { realm });
    if (r.ok) {
      const assignment: ClientAssignment = { source: 'config', codecs: t.client!.codecs.slice() };
      if (t.client!.id !== undefined) assignment.clientId = t.client!.id;
      return { ok: true, assignment, expiresCap: t.client!.expires };
    }
    return this.verifyFailure(req, source, r, realm, now);
  }

  /**
   * Failures found before the password is needed: ask for (fresh) credentials or refuse malformed ones.
   * Returns undefined when verification should go on (a stale nonce still needs its response checked).
   */
  private inspectFailure(req: SipRequest, source: RegisterSource, r: InspectResult & { ok: false }, realm: string, now: number): AuthOutcome | undefined {
    switch (r.reason) {
      case 'stale':
        return undefined;
      case 'missing':
      case 'bad-nonce':
      case 'realm-mismatch':
      case 'unsupported-algorithm':
        // RFC 3261 §22.1: "the server ... SHOULD challenge the originator to provide credentials by rejecting the
        // request with a 401 (Unauthorized) status code". A foreign or forged nonce gets a fresh challenge too.
        return { ok: false, response: this.challenge(req, realm, false) };
      case 'replay':
        // RFC 7616 §5.4: a repeated nonce-count is a replay; counted as a failed attempt, then challenged again.
        this.countFailure(source, now);
        return { ok: false, response: this.challenge(req, realm, false) };
      case 'uri-mismatch':
        // RFC 7616 §3.4.6: "if they are not [the same], the server SHOULD return a 400 Bad Request error".
        return { ok: false, response: this.bad(req, 'Authorization uri does not match the Request-URI') };
      case 'malformed':
      default:
        return { ok: false, response: this.bad(req, 'Malformed Authorization') };
    }
  }

  private verifyFailure(req: SipRequest, source: RegisterSource, r: VerifyResult & { ok: false }, realm: string, now: number): AuthOutcome {
    if (r.reason === 'stale') {
      // RFC 7616 §3.3: stale=true "indicating that the previous request from the client was rejected because the
      // nonce value was stale" — the client retries with the new nonce without asking its user.
      return { ok: false, response: this.challenge(req, realm, true) };
    }
    if (r.reason === 'bad-response') return this.authFailure(req, source, now, 'wrong credentials');
    const early = this.inspectFailure(req, source, { ok: false, reason: r.reason }, realm, now);
    return early ?? this.authFailure(req, source, now, r.reason);
  }

  private async authenticateByHook(req: SipRequest, source: RegisterSource, t: Target, realm: string, requested: number, now: number): Promise<AuthOutcome> {
    const inspected = this.digest.inspect(req, { realm });
    if (!inspected.ok) {
      // An expired nonce: the response cannot be checked without the password, so just ask again with stale=true.
      if (inspected.reason === 'stale') return { ok: false, response: this.challenge(req, realm, true) };
      return this.inspectFailure(req, source, inspected, realm, now)!;
    }
    const c = inspected.credentials;
    if (c.username !== t.user) return this.authFailure(req, source, now, 'username does not match the address-of-record');
    const body = this.regHookBody(c, source, requested, t.domain.name);
    const hook = (t.client!.auth as { kind: 'reghook'; reghook: Hook }).reghook;
    const target: HookTarget = hook.kind === 'url' ? hook.url : hook.kind === 'file' ? `file:${hook.path}` : hook.fn;
    let replyBody: unknown;
    try {
      replyBody = (await this.hooks.call('reghook', target, body)).body;
    } catch (err) {
      this.counters.hookErrors++;
      const status = err instanceof HookError ? err.sipStatus() : 503;
      if (status === 401 || status === 407) {
        // The application refused the credentials with 401: a failed attempt; offer a fresh challenge.
        this.countFailure(source, now);
        this.counters.authFailures++;
        return { ok: false, response: this.challenge(req, realm, false) };
      }
      if (status === 403) {
        this.countFailure(source, now);
        this.counters.authFailures++;
      }
      // SPEC §3: "non-200 HTTP → that SIP code (timeout/unreachable → 503)".
      return { ok: false, response: this.reply(req, status, undefined, status === 503 ? { 'Retry-After': this.retryAfter } : undefined) };
    }
    let verdict;
    try {
      verdict = parseRegHookReply(replyBody, { domain: t.domain.name, filePath: this.configOf()?.filePath ?? process.cwd() });
    } catch (err) {
      this.counters.hookErrors++;
      this.logger?.warn({ domain: t.domain.name, code: (err as RegistrarError).code, err: (err as Error).message }, 'RegHook reply rejected');
      return { ok: false, response: this.reply(req, 503, 'RegHook Reply Invalid', { 'Retry-After': this.retryAfter }) };
    }
    if (!verdict.accepted) {
      // SPEC §3: "other status → 403".
      this.counters.hookRejected++;
      return this.authFailure(req, source, now, `RegHook status "${verdict.status}"`);
    }
    // The app accepted this nonce-count: from now on the same nc is a replay.
    if (!this.digest.recordNonceCount(c)) {
      this.countFailure(source, now);
      this.counters.authFailures++;
      return { ok: false, response: this.challenge(req, realm, false) };
    }
    const assignment: ClientAssignment = {
      source: 'reghook',
      dialplan: verdict.dialplan,
      codecs: verdict.codecs ?? t.client!.codecs.slice(),
    };
    if (t.client!.id !== undefined) assignment.clientId = t.client!.id;
    const cap = verdict.expires ?? t.client!.expires;
    return { ok: true, assignment, expiresCap: cap };
  }

  /** SPEC §3 RegHook body: the digest fields as received; never a password or HA1. */
  private regHookBody(c: DigestCredentials, source: RegisterSource, expires: number, domain: string): RegHookBody {
    return {
      source_address: source.address,
      source_port: source.port,
      method: c.method,
      expires,
      scheme: c.scheme,
      username: c.username,
      realm: c.realm,
      nonce: c.nonce,
      uri: c.uri,
      algorithm: c.algorithm,
      response: c.response,
      qop: c.qop,
      nc: c.nc,
      cnonce: c.cnonce,
      opaque: c.opaque ?? '',
      domain,
    };
  }

  private countFailure(source: RegisterSource, now: number): void {
    const blockedFor = this.throttle.recordFailure(source.address, now);
    if (blockedFor > 0) {
      this.logger?.warn({ source: source.address, blockedFor }, 'too many failed REGISTER attempts; source throttled');
    }
  }

  /** A failed attempt: counted against the source, answered 403 (or the throttle's answer once it trips). */
  private authFailure(req: SipRequest, source: RegisterSource, now: number, why: string): AuthOutcome {
    this.counters.authFailures++;
    this.countFailure(source, now);
    this.logger?.info({ source: source.address, why }, 'REGISTER authentication failed');
    return { ok: false, response: this.reply(req, 403, 'Forbidden') };
  }

  private challenge(req: SipRequest, realm: string, stale: boolean): SipResponse {
    this.counters.challenges++;
    return this.digest.challengeResponse(req, realm, stale ? { stale: true } : {});
  }

  // ------------------------------------------------------------ responses

  private flowOf(source: RegisterSource): Flow {
    const t = String(source.transport).toLowerCase() as FlowTransport;
    const flow: Flow = { transport: TRANSPORTS.includes(t) ? t : 'udp', address: source.address, port: source.port };
    if (source.connectionId !== undefined) flow.connectionId = source.connectionId;
    if (source.localAddress !== undefined) flow.localAddress = source.localAddress;
    if (source.localPort !== undefined) flow.localPort = source.localPort;
    return flow;
  }

  /**
   * RFC 3261 §10.3 step 8: "The 200 (OK) response MUST contain Contact header field values enumerating all
   * current bindings. Each Contact value MUST feature an "expires" parameter indicating its expiration interval
   * chosen by the registrar. The response SHOULD include a Date header field."
   */
  private okResponse(req: SipRequest, bindings: ContactBinding[], now: number, sent: NameAddr[]): SipResponse {
    this.counters.ok++;
    const res = createResponse(req, 200, 'OK', { toTag: true });
    for (const b of bindings) {
      let v = `<${b.uri}>;expires=${secondsLeft(b, now)}`;
      // RFC 5626 §6: the registrar echoes +sip.instance and reg-id of the bindings it keeps.
      if (b.instance !== undefined) v += `;+sip.instance="${b.instance.replace(/(["\\])/g, '\\$1')}"`;
      if (b.regId !== undefined) v += `;reg-id=${b.regId}`;
      res.append('Contact', v);
    }
    // RFC 5626 §6: "If the registrar supports outbound and the REGISTER contained a reg-id ... the registrar MUST
    // include the 'outbound' option-tag in a Require header field of its response". Bindings are kept per flow.
    if (sent.some((c) => c.params['reg-id'] !== undefined && c.params['+sip.instance'] !== undefined)) {
      res.append('Require', 'outbound');
    }
    res.append('Date', new Date(now).toUTCString());
    return res;
  }

  private reply(req: SipRequest, status: number, reason?: string, headers?: Record<string, string | number>): SipResponse {
    return createResponse(req, status, reason, { toTag: true, ...(headers ? { headers } : {}) });
  }

  private bad(req: SipRequest, reason: string): SipResponse {
    this.counters.badRequests++;
    return this.reply(req, 400, `Bad Request (${reason})`);
  }

  private errorResponse(req: SipRequest, err: unknown): SipResponse {
    try {
      if (err instanceof SipParseError) {
        this.counters.badRequests++;
        return this.reply(req, err.status, err.reasonPhrase);
      }
      if (err instanceof StateUnavailableError) {
        this.counters.storeUnavailable++;
        return this.reply(req, 503, 'Service Unavailable', { 'Retry-After': err.retryAfter });
      }
      this.counters.internalErrors++;
      const code = err instanceof StateError ? err.code : (err as { code?: string })?.code;
      this.logger?.error({ code, err: (err as Error)?.message ?? String(err) }, 'REGISTER failed');
      return this.reply(req, 500, 'Server Internal Error');
    } catch {
      // createResponse itself failed (e.g. the Via/To/From of the request are unusable): a bare 400 or 500.
      const res = createResponse(req, 500, 'Server Internal Error');
      return res;
    }
  }
}

function isIpLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

function safeCallId(req: SipRequest): string | undefined {
  try {
    return req.callId;
  } catch {
    return undefined;
  }
}
