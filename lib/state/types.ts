/**
 * The state model: registrations (several contacts per address-of-record, each with its own expiry and the
 * flow it arrived on), the dialplan/codecs assigned to a registered client, and trunk registration state.
 *
 * Everything here is plain JSON-serialisable data: the Redis store keeps it as JSON, the memory store as
 * objects (copied in and out, so callers can never mutate stored state by accident). Times are epoch
 * milliseconds from the store's clock.
 */

/** Address-of-record: a user of one domain. Domains are isolated: the domain is part of every key. */
export interface Aor {
  /** Lower-case domain name. */
  domain: string;
  /** The user part as registered (case-sensitive, RFC 3261 §19.1.4). */
  user: string;
}

export type FlowTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/**
 * Where a REGISTER physically came from: the PBX reaches the contact through this flow (rport/received for
 * UDP, the same connection for TCP/TLS/WS; RFC 3581, RFC 5626 §5), not through the Contact URI, which may name
 * a private address behind NAT.
 */
export interface Flow {
  transport: FlowTransport;
  /** Source IP address of the REGISTER (the `received` address). */
  address: string;
  /** Source port of the REGISTER (the `rport`). */
  port: number;
  /** Transport-layer connection id for stream transports: requests to this contact reuse the connection. */
  connectionId?: string;
  /** Local address the REGISTER arrived on (which listener to send from). */
  localAddress?: string;
  localPort?: number;
}

/** One registered contact (a binding, RFC 3261 §10). */
export interface ContactBinding {
  /** The Contact URI as sent by the UA. */
  uri: string;
  /**
   * Identity of the binding inside its AOR: `+sip.instance` + `reg-id` when the UA sent them (RFC 5626 §6),
   * otherwise the normalised Contact URI (RFC 3261 §19.1.4 comparison, simplified; see binding.ts).
   */
  key: string;
  /** When the binding expires (epoch ms). */
  expiresAt: number;
  flow: Flow;
  /** Call-ID and CSeq of the REGISTER that last refreshed it (RFC 3261 §10.3 step 7). */
  callId: string;
  cseq: number;
  /** `+sip.instance` Contact parameter (RFC 5626), unquoted. */
  instance?: string;
  /** `reg-id` Contact parameter (RFC 5626). */
  regId?: number;
  /** Contact `q` value (0..1). */
  q?: number;
  userAgent?: string;
  /** Path header values of the REGISTER (RFC 3327), in order. */
  path?: string[];
  /** When the last REGISTER for this binding arrived (epoch ms): the age used for maxContacts eviction. */
  receivedAt: number;
}

/**
 * The dialplan and codecs a registered client gets: from the RegHook reply (`source: 'reghook'`, dialplan as the
 * JSON the hook returned, already validated by the registrar) or from the static config (`source: 'config'`,
 * dialplan looked up in the config at call time so reloads apply; `dialplan` then is absent).
 */
export interface ClientAssignment {
  source: 'reghook' | 'config';
  /** Raw dialplan JSON (`{pattern: url | {callHook, statusHook}}`) from the RegHook reply. */
  dialplan?: Record<string, unknown>;
  /** Canonical codec names, preference order. */
  codecs: string[];
  /** `id` of the matching config client, when it has one. */
  clientId?: number | string;
}

/** What the store holds per AOR. Only unexpired contacts are ever returned. */
export interface Registration {
  aor: Aor;
  contacts: ContactBinding[];
  assignment?: ClientAssignment;
  /** Last change (epoch ms). */
  updatedAt: number;
}

/** One Contact of a REGISTER, as the registrar hands it to the store. */
export interface ContactUpdate {
  uri: string;
  /** Binding identity (see ContactBinding.key); the registrar computes it with `bindingKey()`. */
  key: string;
  /** Granted expiry in seconds; 0 removes the binding. */
  expires: number;
  instance?: string;
  regId?: number;
  q?: number;
}

/** A whole REGISTER applied atomically (RFC 3261 §10.3 steps 6–8). */
export interface RegisterUpdate {
  callId: string;
  cseq: number;
  flow: Flow;
  /** Contacts of the request; ignored when `removeAll` is set. An empty list is a fetch of the bindings. */
  contacts: ContactUpdate[];
  /** `Contact: *` with `Expires: 0`: remove every binding (subject to the Call-ID/CSeq rule). */
  removeAll?: boolean;
  /** Keep at most this many contacts (oldest first evicted); default 1. */
  maxContacts?: number;
  userAgent?: string;
  path?: string[];
  /** Replaces the stored assignment when the update leaves at least one contact. */
  assignment?: ClientAssignment;
}

export type RegisterOutcome =
  /** Applied; `contacts` holds the bindings now current. */
  | 'ok'
  /**
   * Aborted: a binding with the same Call-ID has an equal or higher CSeq (RFC 3261 §10.3 step 7: "If not, the
   * update MUST be aborted and the request fails"). Nothing changed; `contacts` holds the unchanged bindings.
   */
  | 'out-of-order';

export interface RegisterResult {
  outcome: RegisterOutcome;
  contacts: ContactBinding[];
  /** Bindings removed by maxContacts eviction (oldest first). */
  evicted: ContactBinding[];
  /** Bindings removed by the request (expires 0 or `*`). */
  removed: ContactBinding[];
  assignment?: ClientAssignment;
}

export type TrunkRegistrationStatus = 'unregistered' | 'registering' | 'registered' | 'failed';

export interface TrunkRegistrationState {
  status: TrunkRegistrationStatus;
  /** When the current registration expires (epoch ms), while registered. */
  expiresAt?: number;
  /** Last failure in words (never credentials), e.g. "403 Forbidden" or "timeout". */
  lastError?: string;
  /** Last change (epoch ms). */
  updatedAt: number;
}

/** Time source of a store: epoch milliseconds and timers (tests inject a virtual clock). */
export interface StateClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface StateCounters {
  /** REGISTER updates applied. */
  registers: number;
  /** Updates aborted by the Call-ID/CSeq rule. */
  outOfOrder: number;
  /** Contacts removed by maxContacts eviction. */
  evictions: number;
  /** Contacts dropped because they expired (sweep or lazy expiry on read). */
  expired: number;
  /** Operations that failed because the backend was unavailable. */
  unavailable: number;
  /** Stored records that could not be decoded (dropped). */
  corrupt: number;
  /** Optimistic-update retries (Redis). */
  conflicts: number;
}

/**
 * One interface for all backends. Every method rejects only with a StateError (StateUnavailableError when the
 * backend is down); nothing is thrown synchronously.
 */
export interface RegistrationStore {
  readonly kind: 'memory' | 'redis';
  readonly counters: StateCounters;
  /** Apply a REGISTER: add/refresh/remove bindings, evict beyond maxContacts, store the assignment. */
  register(aor: Aor, update: RegisterUpdate): Promise<RegisterResult>;
  /** Current registration of an AOR (unexpired contacts only), or undefined when it has none. */
  lookup(aor: Aor): Promise<Registration | undefined>;
  /** Every current registration of a domain (management API). */
  listDomain(domain: string): Promise<Registration[]>;
  /** Remove one binding by its key or Contact URI; true when something was removed. */
  removeContact(aor: Aor, keyOrUri: string): Promise<boolean>;
  /** Remove every binding of an AOR (and its assignment); returns how many contacts were removed. */
  removeAll(aor: Aor): Promise<number>;
  setTrunkState(domain: string, trunkId: string | number, state: Omit<TrunkRegistrationState, 'updatedAt'>): Promise<TrunkRegistrationState>;
  getTrunkState(domain: string, trunkId: string | number): Promise<TrunkRegistrationState | undefined>;
  deleteTrunkState(domain: string, trunkId: string | number): Promise<void>;
  /** Trunk states of a domain keyed by trunk id (as text). */
  listTrunkStates(domain: string): Promise<Record<string, TrunkRegistrationState>>;
  /**
   * Stores that connect to a server (Redis): resolves true once connected, false after `timeoutMs` (the store
   * keeps trying either way). Absent: always ready.
   */
  waitReady?(timeoutMs: number): Promise<boolean>;
  /** Release timers and connections. Idempotent; later calls reject with DPBX_ERR_STATE_CLOSED. */
  close(): Promise<void>;
}
