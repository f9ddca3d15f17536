// Issue 6 §5 through createPbx: a pg-backed config (DATA_SOURCE=pg) and an api-backed config (DATA_SOURCE=api,
// the original `{domains: [...], count}` payload behind `Authorization: Bearer CONFIG_TOKEN`) each drive a
// successful sipp registration, and a config change (a new password, a new client) is picked up without a
// restart: pg through LISTEN/NOTIFY, api through the CONFIG_TTL refresh.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createPbx, type Pbx } from '../../../lib/index.js';
import { findDomain, migratePg, writeConfigToPg } from '../../../lib/config/index.js';
import { skipUnlessCommand, skipUnlessPostgres } from '../../helpers/env.js';
import { sippRegister, waitFor } from './peers.js';
import { sippPassed } from '../../helpers/sipp.js';

const sippSkip = skipUnlessCommand('sipp');
const pgSkip = sippSkip || (await skipUnlessPostgres());
const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/test';

const dialplan = { '1???': 'file:nothing.json' };

async function startPbx(t: Test, opts: Parameters<typeof createPbx>[0]): Promise<{ pbx: Pbx; port: number }> {
  const pbx = createPbx({ sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: 45000, rtpPortMax: 45999, ...opts });
  const addr = await pbx.start();
  t.teardown(() => pbx.stop());
  return { pbx, port: addr.sip.find((s) => s.transport === 'udp')!.port };
}

/** The shared checks: the first config registers, the changed one is used without a restart. */
async function changeIsPickedUp(t: Test, pbx: Pbx, port: number, domain: string, change: () => Promise<void>): Promise<void> {
  const first = await sippRegister({ port, domain, user: '1000', password: 'pw-first-1' });
  sippPassed(t, first, '1000 registers (and un-registers) with the configured password');
  t.ok(pbx.registrar.counters.ok >= 2, 'counted by the registrar');

  await change();
  await waitFor(() => findDomain(pbx.config.current()!, domain)?.clients.length === 2, 'the changed config');
  t.ok(pbx.config.counters.changes >= 1, 'the source reported a change (no restart)');

  const old = await sippRegister({ port, domain, user: '1000', password: 'pw-first-1', scenario: 'pbx-register-refused.xml' });
  sippPassed(t, old, 'the old password is refused after the change');
  const renewed = await sippRegister({ port, domain, user: '1000', password: 'pw-second-2' });
  sippPassed(t, renewed, 'the new password registers');
  const added = await sippRegister({ port, domain, user: '1001', password: 'pw-added-3', scenario: 'pbx-register-only.xml' });
  sippPassed(t, added, 'the newly added client registers');
  t.equal((await pbx.store.lookup({ domain, user: '1001' }))?.contacts.length, 1, 'the new client has a binding');
}

t.test('DATA_SOURCE=pg: registration from the tables; UPDATE/INSERT picked up through NOTIFY', { skip: pgSkip }, async (t) => {
  // A database of its own: createPbx uses the public schema, and other tests share the server.
  const dbName = `dpbx_pbx_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: PG_ADMIN, max: 1 });
  const url = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // pool.end() resolves before its sockets close; DROP ... WITH (FORCE) may then terminate one, and an idle
  // client's error with no pool listener is an uncaught exception.
  pool.on('error', () => {});
  // Registered before the first await that can throw: an open pool would keep the file's process alive.
  t.teardown(async () => {
    await pool.end();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });
  await admin.query(`CREATE DATABASE ${dbName}`);
  const domain = 'pg-registrar.test';
  await migratePg(pool);
  await writeConfigToPg(pool, { domains: { [domain]: { clients: [{ id: 1, username: '1000', password: 'pw-first-1', dialplan }] } } });

  // configTtl is the poll safety net: keep it long so only NOTIFY can deliver the change in time.
  const { pbx, port } = await startPbx(t, { dataSource: 'pg', databaseUrl: url, configTtl: 3600 });
  t.equal(pbx.config.kind, 'pg', 'the pg backend is in use');
  await changeIsPickedUp(t, pbx, port, domain, async () => {
    // What an operator does: plain SQL on the tables.
    await pool.query(`UPDATE clients SET password = 'pw-second-2' WHERE username = '1000'`);
    await pool.query(
      `INSERT INTO clients (domain_id, username, password, max_contacts) SELECT id, '1001', 'pw-added-3', 1 FROM domains WHERE name = $1`,
      [domain],
    );
  });
});

t.test('DATA_SOURCE=api: registration from the original payload; a changed payload picked up after CONFIG_TTL', { skip: sippSkip }, async (t) => {
  const token = 'cfg-token-' + randomBytes(6).toString('hex');
  const domain = 'api-registrar.test';
  let clients: unknown[] = [{ id: 1, username: '1000', password: 'pw-first-1', dialplan }];
  const auths: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    auths.push(req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    // The original Dragon PBX payload.
    const payload = { domains: [{ id: 1, domain, clients, trunks: [] }], count: 1 };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const configUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/config`;

  const { pbx, port } = await startPbx(t, { dataSource: 'api', configUrl, configToken: token, configTtl: 1 });
  t.equal(pbx.config.kind, 'api', 'the api backend is in use');
  t.equal(auths[0], `Bearer ${token}`, 'the config is fetched with the bearer token');
  await changeIsPickedUp(t, pbx, port, domain, async () => {
    clients = [
      { id: 1, username: '1000', password: 'pw-second-2', dialplan },
      { id: 2, username: '1001', password: 'pw-added-3', dialplan },
    ];
  });
});
