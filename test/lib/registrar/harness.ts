/**
 * Test harness for the registrar: a config, REGISTER builders, a UA that answers challenges with DigestClient,
 * and a store factory for memory and Redis.
 */
import { randomBytes } from 'node:crypto';
import { createRequest, generateBranch, type SipRequest, type SipResponse } from '../../../sip-stack/index.js';
import { DigestClient, DigestServer, type DigestAlgorithm } from '../../../sip-stack/index.js';
import { normalizeConfig, type Config } from '../../../lib/config/index.js';
import { HookClient } from '../../../lib/hooks/index.js';
import { MemoryStore, RedisStore, type RegistrationStore } from '../../../lib/state/index.js';
import { Registrar, type RegisterSource, type RegistrarOptions } from '../../../lib/registrar/index.js';
import { VirtualClock } from '../state/virtual-clock.js';

export const DOMAIN = 'pbx.test';

export function makeConfig(reghook: unknown = 'http://127.0.0.1:9/unused'): Config {
  return normalizeConfig({
    domains: {
      [DOMAIN]: {
        clients: [
          { id: 1, username: '2001', password: 's3cret-2001', expires: 300, maxContacts: 3, dialplan: { '1???': 'https://app.test/internal' }, codecs: ['PCMA'] },
          { id: 2, username: '3000', password: 'pw-3000' },
          { id: 3, username: '1???', reghook },
        ],
      },
      'other.test': { clients: [{ username: '2001', password: 'other-secret' }] },
    },
  });
}

export const udpSource: RegisterSource = { transport: 'udp', address: '203.0.113.9', port: 5062, localAddress: '192.0.2.1', localPort: 5060 };

export interface RegOpts {
  user?: string;
  domain?: string;
  ruri?: string;
  toHost?: string;
  callId?: string;
  cseq?: number;
  contact?: string | string[];
  expires?: number | string;
  headers?: Record<string, string | number>;
}

export function register(o: RegOpts = {}): SipRequest {
  const user = o.user ?? '2001';
  const domain = o.domain ?? DOMAIN;
  const headers: Record<string, string | number> = { ...o.headers };
  if (o.expires !== undefined) headers['Expires'] = o.expires;
  const contact = o.contact ?? `<sip:${user}@198.51.100.20:5062;transport=udp>`;
  const star = contact === '*';
  const req = createRequest({
    method: 'REGISTER',
    uri: o.ruri ?? `sip:${domain}`,
    from: { uri: `sip:${user}@${o.toHost ?? domain}` },
    to: { uri: `sip:${user}@${o.toHost ?? domain}` },
    callId: o.callId ?? randomBytes(8).toString('hex'),
    cseq: o.cseq ?? 1,
    via: `SIP/2.0/UDP 198.51.100.20:5062;branch=${generateBranch()};rport`,
    contact: star ? [] : Array.isArray(contact) ? contact : [contact],
    headers,
  });
  if (star) req.append('Contact', '*');
  return req;
}

/**
 * A registering UA: sends the REGISTER, answers a 401 with its DigestClient (new CSeq, same Call-ID), returns
 * every response it saw. `build(cseq)` must return the same request each time except for the CSeq.
 */
export class TestUa {
  readonly digest: DigestClient;
  cseq = 0;
  readonly callId = randomBytes(8).toString('hex');

  constructor(
    readonly registrar: Registrar,
    username: string,
    password: string,
    algorithms?: DigestAlgorithm[],
    readonly source: RegisterSource = udpSource,
  ) {
    this.digest = new DigestClient({ username, password }, algorithms ? { algorithms } : {});
  }

  async send(o: RegOpts = {}): Promise<{ final: SipResponse; responses: SipResponse[]; requests: SipRequest[] }> {
    const responses: SipResponse[] = [];
    const requests: SipRequest[] = [];
    let req = register({ ...o, callId: this.callId, cseq: ++this.cseq });
    for (const h of this.digest.authorizeRequest(req)) req.append(h.header, h.value);
    for (let i = 0; i < 3; i++) {
      requests.push(req);
      const res = await this.registrar.handleRegister(req, this.source);
      responses.push(res);
      if (res.status !== 401) return { final: res, responses, requests };
      const next = register({ ...o, callId: this.callId, cseq: ++this.cseq });
      const creds = this.digest.authorize(res, req); // the request that was challenged (same method, URI, body as next)
      if (!creds) return { final: res, responses, requests };
      for (const h of creds) next.append(h.header, h.value);
      req = next;
    }
    return { final: responses[responses.length - 1]!, responses, requests };
  }
}

export interface Rig {
  clock: VirtualClock;
  store: RegistrationStore;
  registrar: Registrar;
  digest: DigestServer;
  config: Config;
}

export type StoreKind = 'memory' | 'redis';

export async function makeRig(kind: StoreKind, o: Partial<RegistrarOptions> & { config?: Config; prefix?: string } = {}): Promise<Rig> {
  const clock = new VirtualClock();
  const store: RegistrationStore =
    kind === 'memory'
      ? new MemoryStore({ clock, sweepIntervalMs: 0 })
      : new RedisStore({ url: 'redis://127.0.0.1:6379', keyPrefix: o.prefix ?? `dpbx-reg-test-${randomBytes(5).toString('hex')}:`, clock });
  if (store instanceof RedisStore && !(await store.waitReady(5000))) throw new Error('redis not ready');
  const digest = o.digest ?? new DigestServer({ clock, nonceTtlSeconds: 300 });
  const config = o.config ?? makeConfig();
  const registrar = new Registrar({
    config,
    store,
    digest,
    clock,
    hooks: o.hooks ?? new HookClient({ timeoutMs: 1000 }),
    minExpires: 30,
    maxExpires: 3600,
    ...o,
  });
  return { clock, store, registrar, digest, config };
}

/** Contact header values of a response as [uri, expires]. */
export function contactsOf(res: SipResponse): Array<[string, number]> {
  const c = res.contact;
  if (!c || c === '*') return [];
  return c.map((x) => [x.uri.toString(), x.expires ?? -1]);
}
