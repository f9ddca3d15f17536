/**
 * Hand-written validator + normaliser for the config model. Why not a schema library: the error paths must
 * use the original shape's notation (`domains["pbx.example.com"].clients[1].dialplan["9*"].callHook`), hooks
 * may be functions, and normalisation (CIDR parsing, pattern compilation, codec aliases, defaults) is done in
 * the same walk — a schema lib would cover only the easy half and add a dependency.
 *
 * Every problem is collected (not only the first) and reported in one ConfigValidationError. Messages never
 * echo secret values. Unknown keys are ignored, so configs of the original with extra fields keep loading.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { parseCidr, sameCidr } from './cidr.js';
import { canonicalCodec, DEFAULT_CODECS } from './codecs.js';
import { ConfigValidationError, type ConfigIssue } from './errors.js';
import { compareSpecificity, compilePattern } from './pattern.js';
import type {
  Client,
  Config,
  Dialplan,
  DialplanEntry,
  Domain,
  Hook,
  NormalizeOptions,
  SipTransportName,
  Trunk,
  TrunkOutbound,
  TrunkRoute,
} from './types.js';

const TRANSPORTS: readonly SipTransportName[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];
const DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

const key = (k: string) => `[${JSON.stringify(k)}]`;
const idx = (i: number) => `[${i}]`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

class Walker {
  readonly issues: ConfigIssue[] = [];
  constructor(
    readonly filePath: string,
    readonly defaultCodecs: readonly string[],
  ) {}

  fail(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  hook(path: string, v: unknown): Hook | undefined {
    if (typeof v === 'function') return { kind: 'function', fn: v as (body: unknown) => unknown };
    if (typeof v === 'string') {
      if (v.startsWith('file:')) {
        const name = v.slice(5);
        if (name === '' || name.includes('\0')) {
          this.fail(path, 'must be a URL or file:NAME');
          return undefined;
        }
        // `file:/x.json` and `file:x.json` both resolve inside FILE_PATH; escaping it (`..`) is refused.
        const full = resolve(this.filePath, name.replace(/^\/+/, ''));
        const rel = relative(this.filePath, full);
        if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
          this.fail(path, 'file: hook must name a file inside FILE_PATH');
          return undefined;
        }
        return { kind: 'file', name, path: full };
      }
      try {
        const u = new URL(v);
        if ((u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '') return { kind: 'url', url: v };
      } catch {
        /* fall through */
      }
    }
    this.fail(path, 'must be a URL or file:NAME');
    return undefined;
  }

  codecs(path: string, v: unknown): string[] {
    if (v === undefined) return [...this.defaultCodecs];
    if (!Array.isArray(v) || v.length === 0) {
      this.fail(path, 'must be a non-empty array of codec names');
      return [...this.defaultCodecs];
    }
    const out: string[] = [];
    v.forEach((c, i) => {
      const canon = typeof c === 'string' ? canonicalCodec(c) : undefined;
      if (!canon) this.fail(path + idx(i), typeof c === 'string' ? `unknown codec "${c}"` : 'must be a codec name');
      else if (!out.includes(canon)) out.push(canon);
    });
    return out;
  }

  pattern(path: string, v: unknown): boolean {
    if (typeof v !== 'string' || v === '') {
      this.fail(path, 'must be a non-empty pattern string');
      return false;
    }
    if (/[\s\0]/.test(v)) {
      this.fail(path, 'must not contain whitespace');
      return false;
    }
    return true;
  }

  dialplan(path: string, v: unknown): Dialplan {
    const entries: DialplanEntry[] = [];
    if (v === undefined) return { entries };
    if (!isObject(v)) {
      this.fail(path, 'must be an object of pattern → hook');
      return { entries };
    }
    for (const [pat, val] of Object.entries(v)) {
      const p = path + key(pat);
      if (!this.pattern(p, pat)) continue;
      let callHook: Hook | undefined;
      let statusHook: Hook | undefined;
      if (isObject(val)) {
        callHook = this.hook(p + '.callHook', val.callHook);
        if (val.statusHook !== undefined) statusHook = this.hook(p + '.statusHook', val.statusHook);
      } else {
        callHook = this.hook(p, val);
      }
      if (callHook) entries.push({ pattern: compilePattern(pat), callHook, ...(statusHook ? { statusHook } : {}) });
    }
    entries.sort((a, b) => compareSpecificity(a.pattern, b.pattern));
    return { entries };
  }

  client(path: string, v: unknown, index: number): Client | undefined {
    if (!isObject(v)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    const before = this.issues.length;
    let id: number | string | undefined;
    if (v.id !== undefined) {
      if (typeof v.id === 'number' || (typeof v.id === 'string' && v.id !== '')) id = v.id;
      else this.fail(path + '.id', 'must be a number or string');
    }
    const okUser = this.pattern(path + '.username', v.username);
    let auth: Client['auth'] | undefined;
    const hasReg = v.reghook !== undefined && v.reghook !== null && v.reghook !== '';
    const hasPw = v.password !== undefined && v.password !== null;
    if (hasReg && hasPw) this.fail(path, 'must have either reghook or password, not both');
    else if (hasReg) {
      const h = this.hook(path + '.reghook', v.reghook);
      if (h) auth = { kind: 'reghook', reghook: h };
    } else if (hasPw) {
      if (typeof v.password !== 'string' || v.password === '') this.fail(path + '.password', 'must be a non-empty string');
      else auth = { kind: 'password', password: v.password };
    } else this.fail(path, 'must have a reghook or a password');
    if (hasReg && v.dialplan !== undefined) this.fail(path + '.dialplan', 'not allowed with reghook (the RegHook reply gives the dialplan)');
    const dialplan = this.dialplan(path + '.dialplan', hasReg ? undefined : v.dialplan);
    const codecs = this.codecs(path + '.codecs', v.codecs);
    if (v.expires !== undefined && !isPosInt(v.expires)) this.fail(path + '.expires', 'must be a positive integer (seconds)');
    let maxContacts = 1;
    if (v.maxContacts !== undefined) {
      if (!isPosInt(v.maxContacts)) this.fail(path + '.maxContacts', 'must be a positive integer');
      else maxContacts = v.maxContacts;
    }
    if (this.issues.length > before || !okUser || !auth) return undefined;
    return {
      ...(id !== undefined ? { id } : {}),
      index,
      username: compilePattern(v.username as string),
      auth,
      dialplan,
      codecs,
      ...(v.expires !== undefined ? { expires: v.expires as number } : {}),
      maxContacts,
    };
  }

  outbound(path: string, v: unknown): TrunkOutbound | undefined {
    if (!isObject(v)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    const before = this.issues.length;
    if (typeof v.host !== 'string' || v.host === '' || /[\s/]/.test(v.host)) this.fail(path + '.host', 'must be a host name or address');
    let transport: SipTransportName = 'udp';
    if (v.transport !== undefined) {
      const t = typeof v.transport === 'string' ? v.transport.toLowerCase() : '';
      if ((TRANSPORTS as string[]).includes(t)) transport = t as SipTransportName;
      else this.fail(path + '.transport', `must be one of ${TRANSPORTS.join(', ')}`);
    }
    if (v.port !== undefined && !(isPosInt(v.port) && v.port <= 65535)) this.fail(path + '.port', 'must be a port number 1..65535');
    for (const f of ['username', 'password'] as const) {
      if (v[f] !== undefined && (typeof v[f] !== 'string' || v[f] === '')) this.fail(`${path}.${f}`, 'must be a non-empty string');
    }
    if (v.register !== undefined && typeof v.register !== 'boolean') this.fail(path + '.register', 'must be true or false');
    if (v.expires !== undefined && !isPosInt(v.expires)) this.fail(path + '.expires', 'must be a positive integer (seconds)');
    if (v.register === true && v.username === undefined) this.fail(path + '.username', 'is required when register is true');
    if (this.issues.length > before) return undefined;
    return {
      host: v.host as string,
      port: (v.port as number | undefined) ?? (transport === 'tls' || transport === 'wss' ? 5061 : 5060),
      transport,
      ...(v.username !== undefined ? { username: v.username as string } : {}),
      ...(v.password !== undefined ? { password: v.password as string } : {}),
      register: v.register === true,
      expires: (v.expires as number | undefined) ?? 3600,
    };
  }

  trunk(path: string, v: unknown, index: number): Trunk | undefined {
    if (!isObject(v)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    const before = this.issues.length;
    if (!(typeof v.id === 'number' || (typeof v.id === 'string' && v.id !== ''))) this.fail(path + '.id', 'must be a number or string');
    if (typeof v.name !== 'string' || v.name === '') this.fail(path + '.name', 'must be a non-empty string');
    const inbound: Trunk['inbound'] = [];
    if (v.inbound !== undefined) {
      if (!Array.isArray(v.inbound)) this.fail(path + '.inbound', 'must be an array of CIDRs');
      else
        v.inbound.forEach((c, i) => {
          const r = typeof c === 'string' ? parseCidr(c.trim()) : 'must be a CIDR string';
          if (typeof r === 'string') this.fail(path + '.inbound' + idx(i), r);
          else inbound.push(r);
        });
    }
    const outbound = v.outbound === undefined ? undefined : this.outbound(path + '.outbound', v.outbound);
    const dialplan = this.dialplan(path + '.dialplan', v.dialplan);
    const codecs = this.codecs(path + '.codecs', v.codecs);
    if (this.issues.length > before) return undefined;
    return {
      id: v.id as number | string,
      name: v.name as string,
      index,
      inbound,
      ...(outbound ? { outbound } : {}),
      dialplan,
      codecs,
    };
  }
}

/**
 * Validates a config in the original JSON shape and returns the normalised model. Throws
 * ConfigValidationError (code DPBX_ERR_CONFIG_INVALID) listing every problem with its path.
 */
export function normalizeConfig(raw: unknown, options: NormalizeOptions = {}): Config {
  const filePath = resolve(options.filePath ?? process.cwd());
  const w = new Walker(filePath, options.defaultCodecs ?? DEFAULT_CODECS);
  const domains = new Map<string, Domain>();
  const routes: TrunkRoute[] = [];
  if (!isObject(raw)) w.fail('(root)', 'must be an object with "domains"');
  else if (!isObject(raw.domains)) w.fail('domains', 'must be an object keyed by domain name');
  else {
    for (const [name, d] of Object.entries(raw.domains)) {
      const path = 'domains' + key(name);
      const lower = name.toLowerCase().replace(/\.$/, '');
      if (!DOMAIN_RE.test(name)) {
        w.fail(path, 'key must be a domain name (FQDN)');
        continue;
      }
      if (domains.has(lower)) {
        w.fail(path, 'duplicate domain (names are case-insensitive)');
        continue;
      }
      if (!isObject(d)) {
        w.fail(path, 'must be an object');
        continue;
      }
      let id: number | string | undefined;
      if (d.domain_id !== undefined) {
        if (typeof d.domain_id === 'number' || typeof d.domain_id === 'string') id = d.domain_id;
        else w.fail(path + '.domain_id', 'must be a number or string');
      }
      const clients: Client[] = [];
      if (d.clients !== undefined) {
        if (!Array.isArray(d.clients)) w.fail(path + '.clients', 'must be an array');
        else {
          const seen = new Map<string, number>();
          d.clients.forEach((c, i) => {
            const cl = w.client(`${path}.clients${idx(i)}`, c, i);
            const user = isObject(c) && typeof c.username === 'string' && c.username !== '' ? c.username : undefined;
            if (user !== undefined) {
              const prev = seen.get(user);
              if (prev !== undefined) w.fail(`${path}.clients${idx(i)}.username`, `duplicate of clients[${prev}].username`);
              else seen.set(user, i);
            }
            if (cl) clients.push(cl);
          });
        }
      }
      const trunks: Trunk[] = [];
      if (d.trunks !== undefined) {
        if (!Array.isArray(d.trunks)) w.fail(path + '.trunks', 'must be an array');
        else d.trunks.forEach((t, i) => {
          const tr = w.trunk(`${path}.trunks${idx(i)}`, t, i);
          if (tr) trunks.push(tr);
        });
      }
      const domain: Domain = {
        name: lower,
        ...(id !== undefined ? { id } : {}),
        clients,
        trunks,
        clientsBySpecificity: [...clients].sort((a, b) => compareSpecificity(a.username, b.username)),
      };
      domains.set(lower, domain);
      for (const trunk of trunks) {
        trunk.inbound.forEach((cidr, ci) => {
          const clash = routes.find((r) => sameCidr(r.cidr, cidr));
          if (clash) {
            w.fail(
              `${path}.trunks[${trunk.index}].inbound[${ci}]`,
              `same network as domains${key(clash.domain.name)}.trunks[${clash.trunk.index}] (a source must identify one trunk)`,
            );
          } else routes.push({ cidr, domain, trunk });
        });
      }
    }
  }
  if (w.issues.length > 0) throw new ConfigValidationError(w.issues);
  routes.sort((a, b) => b.cidr.prefix - a.cidr.prefix);
  return { domains, trunkRoutes: routes, filePath };
}
