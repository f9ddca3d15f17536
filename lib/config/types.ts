/**
 * The config model. Two shapes:
 *  - Raw*: the JSON shape of the original Dragon PBX (CONFIG_FILE, SPEC §2) — what users write;
 *  - the normalised model (Config, Domain, Client, Trunk, Dialplan): defaults filled in, codec names canonical,
 *    CIDRs parsed, patterns compiled and sorted by specificity. The rest of the PBX only sees this one.
 */
import type { Cidr } from './cidr.js';
import type { CompiledPattern } from './pattern.js';

// ---------------------------------------------------------------- raw (JSON) shape

/** An in-process hook handler (library users only; JSON cannot hold one). */
export type HookFunction = (body: unknown) => unknown | Promise<unknown>;

/** `https://...`, `file:NAME`, or a function. */
export type RawHook = string | HookFunction;

export type RawDialplanValue = RawHook | { callHook: RawHook; statusHook?: RawHook };
export type RawDialplan = Record<string, RawDialplanValue>;

export interface RawClient {
  id?: number | string;
  username: string;
  reghook?: RawHook;
  password?: string;
  dialplan?: RawDialplan;
  codecs?: string[];
  expires?: number;
  maxContacts?: number;
}

export interface RawTrunk {
  id: number | string;
  name: string;
  inbound?: string[];
  outbound?: {
    host: string;
    port?: number;
    transport?: string;
    username?: string;
    password?: string;
    register?: boolean;
    expires?: number;
  };
  dialplan?: RawDialplan;
  codecs?: string[];
}

export interface RawDomain {
  domain_id?: number | string;
  clients?: RawClient[];
  trunks?: RawTrunk[];
}

/** The CONFIG_FILE shape: `{"domains": {"<fqdn>": RawDomain}}`. */
export interface RawConfig {
  domains: Record<string, RawDomain>;
}

// ---------------------------------------------------------------- normalised model

export type Hook =
  | { kind: 'url'; url: string }
  /** `file:NAME`: `name` as written, `path` resolved against FILE_PATH. */
  | { kind: 'file'; name: string; path: string }
  | { kind: 'function'; fn: HookFunction };

export interface DialplanEntry {
  pattern: CompiledPattern;
  callHook: Hook;
  statusHook?: Hook;
}

/** Entries sorted most specific first (see pattern.ts); use matchDialplan(). */
export interface Dialplan {
  readonly entries: readonly DialplanEntry[];
}

export type ClientAuth = { kind: 'reghook'; reghook: Hook } | { kind: 'password'; password: string };

export type SipTransportName = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export interface Client {
  /** `id` from the config, if any. */
  id?: number | string;
  /** Position in the domain's `clients` list (for messages). */
  index: number;
  username: CompiledPattern;
  auth: ClientAuth;
  /** Static dialplan (password clients); reghook clients get theirs from the RegHook reply. */
  dialplan: Dialplan;
  /** Canonical codec names in preference order; the server's DEFAULT_CODECS when the config gives none. */
  codecs: string[];
  /** Requested registration expiry in seconds (clamped later by the registrar), when given. */
  expires?: number;
  /** Contacts kept per AOR; 1 = newest wins. */
  maxContacts: number;
}

export interface TrunkOutbound {
  host: string;
  port: number;
  transport: SipTransportName;
  username?: string;
  password?: string;
  register: boolean;
  /** Registration expiry asked for, seconds. */
  expires: number;
}

export interface Trunk {
  id: number | string;
  name: string;
  index: number;
  inbound: Cidr[];
  outbound?: TrunkOutbound;
  dialplan: Dialplan;
  codecs: string[];
}

export interface Domain {
  /** Lower-case FQDN. */
  name: string;
  id?: number | string;
  clients: Client[];
  trunks: Trunk[];
  /** Clients sorted by username specificity (what matchClient walks). */
  clientsBySpecificity: Client[];
}

export interface TrunkRoute {
  cidr: Cidr;
  domain: Domain;
  trunk: Trunk;
}

export interface Config {
  /** Keyed by lower-case domain name. */
  domains: ReadonlyMap<string, Domain>;
  /** Every inbound CIDR of every trunk, longest prefix first (what matchTrunkBySource walks). */
  trunkRoutes: readonly TrunkRoute[];
  /** Folder `file:` hooks resolve against. */
  filePath: string;
}

export interface NormalizeOptions {
  /** Folder for `file:NAME` hooks (FILE_PATH). Default: process.cwd(). */
  filePath?: string;
  /** Codecs for clients/trunks without `codecs` (DEFAULT_CODECS). Default G722, PCMA, PCMU. */
  defaultCodecs?: readonly string[];
}
