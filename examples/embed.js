#!/usr/bin/env node
// examples/embed.js — Dragon PBX as a library inside your own Node.js program: no HTTP hooks at all, every hook
// is a function of this file.
//
//   npm run build && node examples/embed.js
//
// What it sets up (domain `embed.local`, override with DOMAIN):
//   - phones 1000 and 1001: static passwords from this file; what they dial is decided by the in-process
//     `callHook` below, and the events of those calls go to the in-process `statusHook`;
//   - phones 2000-2999: authorised by an in-process RegHook that checks the digest with the library's
//     verifyDigest() against a user table (the same code an HTTP RegHook would run); their dialplan is the bundled
//     `file:scripts/internal.json` (a RegHook reply's dialplan is stored with the registration, so it holds URLs
//     or file: names, not functions).
// Server options come from the usual environment variables (SIP_PORT, SIP_HOST, PUBLIC_IP, RTP_PORT_MIN/MAX,
// WEBPORT, LOGLEVEL, ... — SPEC §1), read with the library's optionsFromEnv().
// stdout: the PBX's JSON log lines, then {"msg":"embed: started", sip, api}; one line per hook call.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPbx, createLogger, hookReply, optionsFromEnv } from 'dragon-pbx';
import { verifyDigest } from 'dragon-pbx/sip-stack';

const here = dirname(fileURLToPath(import.meta.url));
const DOMAIN = process.env.DOMAIN || 'embed.local';
const say = (obj) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');

// Users authorised by the in-process RegHook (a real app would look them up in its database).
const REGHOOK_USERS = { 2000: 'change-me-2000', 2001: 'change-me-2001' };

/** RegHook as a function: same body and reply as the HTTP RegHook (SPEC §3). */
function regHook(body) {
  const password = Object.hasOwn(REGHOOK_USERS, body.username) ? REGHOOK_USERS[body.username] : undefined;
  const ok = password !== undefined && verifyDigest(body, password);
  say({ hook: 'reghook', method: body.method, username: body.username, verdict: ok ? 'ok' : 'denied' });
  // hookReply(403) answers like an HTTP 403: the phone gets SIP 403.
  if (!ok) return hookReply(403, { status: 'denied' });
  return { status: 'ok', expires: 300, dialplan: { '*': 'file:scripts/internal.json' } };
}

/** CallHook as a function: returns the CallScript (SPEC §4) for one call of phones 1000/1001. */
function callHook(body) {
  say({ hook: 'callhook', callId: body.callId, from: body.from, to: body.to, count: body.count });
  if (body.count > 0) return [{ verb: 'response', code: 480, reason: 'Nobody answered' }];
  if (/^[12]\d{3}$/.test(body.to)) {
    return [{ verb: 'connect', dest: { type: 'client', address: body.to, timeout: 25 }, statusLabel: 'embedded' }];
  }
  return [{ verb: 'response', code: 404, reason: 'No such extension' }];
}

/** StatusHook as a function: fire-and-forget, its return value is ignored. */
function statusHook(body) {
  const { callId, event, label, timestamp, ...data } = body;
  say({ hook: 'status', callId, event, label, at: timestamp, data });
}

const config = {
  domains: {
    [DOMAIN]: {
      domain_id: 1,
      clients: [
        { id: 1, username: '1000', password: 'change-me-1000', dialplan: { '*': { callHook, statusHook } } },
        { id: 2, username: '1001', password: 'change-me-1001', dialplan: { '*': { callHook, statusHook } } },
        { id: 3, username: '2???', reghook: regHook },
      ],
      trunks: [],
    },
  },
};

const { options, warnings } = optionsFromEnv(process.env);
const logger = createLogger({ level: options.logLevel });
for (const w of warnings) logger.warn({}, w);

// `config` wins over any config source; `file:` hooks resolve against this folder (examples/).
const pbx = createPbx({ ...options, config, filePath: here, logger });

try {
  const addresses = await pbx.start();
  say({ msg: 'embed: started', domain: DOMAIN, ...addresses });
} catch (err) {
  say({ msg: 'embed: could not start', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

let stopping = false;
const stop = () => {
  if (stopping) process.exit(1);
  stopping = true;
  pbx.stop().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
