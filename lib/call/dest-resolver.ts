/**
 * Expands a CallScript Dest into the targets to dial (SPEC §4):
 *  - client → every registered contact of that user IN THE CALL'S DOMAIN (a fork per contact);
 *  - trunk  → the trunk of the call's domain named by `trunk_id` / `trunk_name` (never another domain's: SPEC §2
 *             "Domains are fully isolated"); with neither, the domain's only outbound trunk;
 *  - sip    → the URI itself.
 * A Dest that cannot be resolved is not an exception for the call: it comes back as `skipped` with a reason and
 * the connect verb reports `connect:skipped` (SPEC §8: an unregistered client dest once crashed the call).
 */
import { findDomain, type Config, type Trunk } from '../config/index.js';
import type { Dest } from '../script/index.js';
import type { DialTarget, Registrations } from './control.js';

export type DestResolution =
  | { ok: true; targets: DialTarget[] }
  | { ok: false; reason: string; code?: 'DPBX_ERR_CALL_DEST_UNRESOLVED' };

const skip = (reason: string): DestResolution => ({ ok: false, reason, code: 'DPBX_ERR_CALL_DEST_UNRESOLVED' });

export interface DestResolverOptions {
  /** The current config (a function, so reloads apply to the next call). */
  config: () => Config;
  registrations: Registrations;
}

export class DestResolver {
  private readonly config: () => Config;
  private readonly registrations: Registrations;

  constructor(opts: DestResolverOptions) {
    this.config = opts.config;
    this.registrations = opts.registrations;
  }

  /** Never rejects: a store failure is a skipped dest like any other. */
  async resolve(domainName: string, dest: Dest, destIndex: number): Promise<DestResolution> {
    try {
      switch (dest.type) {
        case 'client':
          return await this.client(domainName, dest, destIndex);
        case 'trunk':
          return this.trunk(domainName, dest, destIndex);
        case 'sip':
          return this.sip(domainName, dest, destIndex);
        default:
          return skip('unknown destination type');
      }
    } catch (err) {
      return skip(`lookup failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  private async client(domainName: string, dest: Dest, destIndex: number): Promise<DestResolution> {
    // `user@domain` is accepted only for the call's own domain.
    let user = dest.address.replace(/^sips?:/i, '');
    const at = user.lastIndexOf('@');
    if (at >= 0) {
      const d = user.slice(at + 1).toLowerCase().replace(/\.$/, '');
      if (d !== domainName) return skip('client of another domain');
      user = user.slice(0, at);
    }
    if (!user) return skip('empty client address');
    const reg = await this.registrations.lookup({ domain: domainName, user });
    const contacts = reg?.contacts ?? [];
    if (contacts.length === 0) return skip('not registered');
    const codecs = dest.codecs ?? reg?.assignment?.codecs;
    // Highest q first (RFC 3261 §16.6 ordering hint); all ring in parallel anyway.
    const sorted = [...contacts].sort((a, b) => (b.q ?? 1) - (a.q ?? 1));
    return {
      ok: true,
      targets: sorted.map((contact) => ({
        kind: 'client' as const,
        dest,
        destIndex,
        domain: domainName,
        user,
        contact,
        ...(codecs && codecs.length ? { codecs: [...codecs] } : {}),
      })),
    };
  }

  private trunk(domainName: string, dest: Dest, destIndex: number): DestResolution {
    const domain = findDomain(this.config(), domainName);
    if (!domain) return skip('unknown domain');
    let trunk: Trunk | undefined;
    if (dest.trunk_id !== undefined) {
      trunk = domain.trunks.find((t) => String(t.id) === String(dest.trunk_id));
      if (!trunk) return skip(`no trunk with id ${String(dest.trunk_id)} in this domain`);
    } else if (dest.trunk_name !== undefined) {
      trunk = domain.trunks.find((t) => t.name === dest.trunk_name);
      if (!trunk) return skip(`no trunk named "${dest.trunk_name}" in this domain`);
    } else {
      const outbound = domain.trunks.filter((t) => t.outbound);
      if (outbound.length !== 1) return skip('trunk_id or trunk_name required (domain has ' + outbound.length + ' outbound trunks)');
      trunk = outbound[0]!;
    }
    if (!trunk.outbound) return skip(`trunk "${trunk.name}" has no outbound settings`);
    const codecs = dest.codecs ?? trunk.codecs;
    return {
      ok: true,
      targets: [
        {
          kind: 'trunk',
          dest,
          destIndex,
          domain: domainName,
          number: dest.address,
          trunk,
          ...(codecs && codecs.length ? { codecs: [...codecs] } : {}),
        },
      ],
    };
  }

  private sip(domainName: string, dest: Dest, destIndex: number): DestResolution {
    if (!/^sips?:[^\s@]*@?[^\s]+$/i.test(dest.address)) return skip('not a sip: or sips: URI');
    return {
      ok: true,
      targets: [
        {
          kind: 'sip',
          dest,
          destIndex,
          domain: domainName,
          uri: dest.address,
          ...(dest.username !== undefined && dest.password !== undefined
            ? { credentials: { username: dest.username, password: dest.password } }
            : {}),
          ...(dest.codecs ? { codecs: [...dest.codecs] } : {}),
        },
      ],
    };
  }
}
