/**
 * RegHook (SPEC §3): the request body the application receives and the validation of its reply.
 *
 * Body: `{source_address, source_port, method, expires, scheme, username, realm, nonce, uri, algorithm,
 * response, qop, nc, cnonce, opaque, domain}` — the digest fields exactly as the phone sent them, so the
 * application verifies the response itself (with `verifyDigest` from `dragon-pbx/sip-stack`). No password,
 * HA1 or other secret is ever part of it.
 *
 * Reply (HTTP 200): `{status: "ok", expires?, dialplan?, codecs?}` accepts; any other status rejects (403).
 * A dialplan must be JSON (`{pattern: url | {callHook, statusHook?}}`): it is stored with the registration (in
 * Redis too), so functions are not accepted there. A missing dialplan is an empty one: the client can register
 * and receive calls but places none.
 */
import { normalizeConfig, ConfigValidationError, type Dialplan } from '../config/index.js';
import { RegistrarError } from './errors.js';

export interface RegHookBody {
  source_address: string;
  source_port: number;
  method: string;
  expires: number;
  scheme: string;
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  algorithm: string;
  response: string;
  qop: string;
  nc: string;
  cnonce: string;
  opaque: string;
  domain: string;
  [key: string]: unknown;
}

export type RegHookVerdict =
  | { accepted: false; status: string }
  | {
      accepted: true;
      /** Upper bound on the granted expiry (seconds), when the hook gave one. */
      expires?: number;
      /** The raw JSON dialplan to store (validated). */
      dialplan: Record<string, string | { callHook: string; statusHook?: string }>;
      /** The dialplan normalised (patterns compiled, hooks resolved). */
      compiled: Dialplan;
      /** Canonical codec names, when the hook gave codecs. */
      codecs?: string[];
    };

export interface ReplyContext {
  domain: string;
  /** Folder `file:` hooks resolve against (the config's). */
  filePath: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a 2xx RegHook reply body. Throws RegistrarError DPBX_ERR_REGISTRAR_HOOK_REPLY when malformed. */
export function parseRegHookReply(body: unknown, ctx: ReplyContext): RegHookVerdict {
  if (!isObject(body)) throw new RegistrarError('DPBX_ERR_REGISTRAR_HOOK_REPLY', 'RegHook reply is not a JSON object');
  const status = body['status'];
  if (typeof status !== 'string') throw new RegistrarError('DPBX_ERR_REGISTRAR_HOOK_REPLY', 'RegHook reply has no "status" string');
  if (status !== 'ok') return { accepted: false, status: status.slice(0, 40) };
  let expires: number | undefined;
  if (body['expires'] !== undefined && body['expires'] !== null) {
    const e = body['expires'];
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 1) {
      throw new RegistrarError('DPBX_ERR_REGISTRAR_HOOK_REPLY', 'RegHook reply "expires" must be a positive integer (seconds)');
    }
    expires = e;
  }
  const raw = body['dialplan'] ?? {};
  if (!isObject(raw)) throw new RegistrarError('DPBX_ERR_REGISTRAR_HOOK_REPLY', 'RegHook reply "dialplan" must be an object');
  const dialplan: Record<string, string | { callHook: string; statusHook?: string }> = {};
  for (const [pattern, v] of Object.entries(raw)) {
    if (typeof v === 'string') dialplan[pattern] = v;
    else if (isObject(v) && typeof v['callHook'] === 'string' && (v['statusHook'] === undefined || typeof v['statusHook'] === 'string')) {
      dialplan[pattern] = v['statusHook'] === undefined ? { callHook: v['callHook'] } : { callHook: v['callHook'], statusHook: v['statusHook'] as string };
    } else {
      throw new RegistrarError('DPBX_ERR_REGISTRAR_HOOK_REPLY', `RegHook reply dialplan[${JSON.stringify(pattern)}] must be a URL or {callHook, statusHook?}`);
    }
  }
  let codecs: unknown = body['codecs'];
  if (codecs !== undefined && codecs !== null && !Array.isArray(codecs)) {
    throw new RegistrarError('DPBX_ERR_REGISTRAR_HOOK_REPLY', 'RegHook reply "codecs" must be a list');
  }
  if (codecs === null) codecs = undefined;
  // The config validator checks patterns, hook URLs and codec names exactly as for the config file.
  let compiled: Dialplan;
  let canonical: string[] | undefined;
  try {
    const cfg = normalizeConfig(
      { domains: { [ctx.domain]: { clients: [{ username: '*', password: 'x', dialplan, ...(codecs ? { codecs } : {}) }] } } },
      { filePath: ctx.filePath },
    );
    const client = cfg.domains.values().next().value!.clients[0]!;
    compiled = client.dialplan;
    if (codecs) canonical = client.codecs;
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      const what = err.issues
        .slice(0, 3)
        .map((i) => `${i.path.replace(/^domains\[[^\]]*\]\.clients\[0\]\./, '')}: ${i.message}`)
        .join('; ');
      throw new RegistrarError('DPBX_ERR_REGISTRAR_HOOK_REPLY', `RegHook reply invalid: ${what}`);
    }
    throw err;
  }
  const out: RegHookVerdict = { accepted: true, dialplan, compiled };
  if (expires !== undefined) out.expires = expires;
  if (canonical) out.codecs = canonical;
  return out;
}
