/**
 * A safe serialisation of the config for the management API and logs: the original JSON shape, without
 * client/trunk passwords (replaced by `"hasPassword": true`), credentials stripped from hook URLs, and
 * function hooks shown as "function".
 */
import type { Config, Dialplan, Hook } from './types.js';

export function redactHook(h: Hook): string {
  if (h.kind === 'function') return 'function';
  if (h.kind === 'file') return 'file:' + h.name;
  try {
    const u = new URL(h.url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '[invalid url]';
  }
}

function dialplanJson(d: Dialplan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of d.entries) {
    out[e.pattern.source] = e.statusHook
      ? { callHook: redactHook(e.callHook), statusHook: redactHook(e.statusHook) }
      : redactHook(e.callHook);
  }
  return out;
}

/** JSON-safe, secret-free view of `config` in the original shape. */
export function redactConfig(config: Config): { domains: Record<string, unknown> } {
  const domains: Record<string, unknown> = {};
  for (const d of config.domains.values()) {
    domains[d.name] = {
      ...(d.id !== undefined ? { domain_id: d.id } : {}),
      clients: d.clients.map((c) => ({
        ...(c.id !== undefined ? { id: c.id } : {}),
        username: c.username.source,
        ...(c.auth.kind === 'reghook'
          ? { reghook: redactHook(c.auth.reghook) }
          : { hasPassword: true, dialplan: dialplanJson(c.dialplan) }),
        codecs: c.codecs,
        ...(c.expires !== undefined ? { expires: c.expires } : {}),
        maxContacts: c.maxContacts,
      })),
      trunks: d.trunks.map((t) => ({
        id: t.id,
        name: t.name,
        inbound: t.inbound.map((c) => c.source),
        ...(t.outbound
          ? {
              outbound: {
                host: t.outbound.host,
                port: t.outbound.port,
                transport: t.outbound.transport,
                ...(t.outbound.username !== undefined ? { username: t.outbound.username } : {}),
                ...(t.outbound.password !== undefined ? { hasPassword: true } : {}),
                register: t.outbound.register,
                expires: t.outbound.expires,
              },
            }
          : {}),
        dialplan: dialplanJson(t.dialplan),
        codecs: t.codecs,
      })),
    };
  }
  return { domains };
}
