import t from 'tap';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import {
  ConfigValidationError,
  PgConfigSource,
  findDomain,
  matchClient,
  matchDialplan,
  matchTrunkBySource,
  migratePg,
  writeConfigToPg,
  PG_NOTIFY_CHANNEL,
  type Config,
} from '../../../lib/config/index.js';
import { skipUnlessPostgres } from '../../helpers/env.js';

const skip = await skipUnlessPostgres();
const DB = 'postgres://postgres@127.0.0.1:5432/test';
const schema = 'dpbx_test_' + randomBytes(5).toString('hex');

t.test('pg backend', { skip }, async (t) => {
  const admin = new pg.Pool({ connectionString: DB, max: 2 });
  t.teardown(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  await migratePg(admin, schema);
  await migratePg(admin, schema); // idempotent
  await Promise.all([migratePg(admin, schema), migratePg(admin, schema)]); // and safe concurrently
  await writeConfigToPg(
    admin,
    {
      domains: {
        'pg.test': {
          clients: [
            { username: '1???', reghook: 'https://app.test/reg' },
            { username: '2000', password: 'pw', maxContacts: 2, dialplan: { '*': 'https://app.test/a', '1???': { callHook: 'file:x.json', statusHook: 'https://app.test/s' } } },
          ],
          trunks: [
            { id: 1, name: 'carrier', inbound: ['198.51.100.0/24', '2001:db8::/32'], outbound: { host: 'sip.carrier.test', username: 'u', password: 'p', register: true }, dialplan: { '*': 'https://app.test/in' }, codecs: ['PCMA'] },
          ],
        },
      },
    },
    schema,
  );

  const src = new PgConfigSource({ connectionString: DB, schema, ttlSeconds: 0, filePath: '/srv/hooks' });
  t.teardown(() => src.close());
  const cfg = await src.load();
  const d = findDomain(cfg, 'pg.test')!;
  t.equal(matchClient(d, '1234')!.auth.kind, 'reghook');
  const c = matchClient(d, '2000')!;
  t.equal(c.maxContacts, 2);
  t.same(matchDialplan(c.dialplan, '1999')!.statusHook, { kind: 'url', url: 'https://app.test/s' });
  t.equal(matchDialplan(c.dialplan, '5')!.pattern.source, '*');
  const tm = matchTrunkBySource(cfg, '2001:db8::9')!;
  t.equal(tm.trunk.name, 'carrier');
  t.same(tm.trunk.codecs, ['PCMA']);
  t.equal(tm.trunk.outbound!.register, true);

  await t.test('a change is picked up without restart (LISTEN/NOTIFY)', async (t) => {
    const changed = new Promise<Config>((resolve) => {
      const off = src.on('change', (cfg) => {
        off();
        resolve(cfg);
      });
    });
    const { rows } = await admin.query(`SELECT id FROM "${schema}".domains WHERE name = 'pg.test'`);
    await admin.query(`INSERT INTO "${schema}".clients (domain_id, username, password) VALUES ($1, '3000', 'pw3')`, [rows[0].id]);
    const next = await changed;
    t.ok(matchClient(findDomain(next, 'pg.test')!, '3000'), 'new client visible');
    t.ok(src.pgCounters.notifications >= 1);
  });

  await t.test('ON DELETE CASCADE removes clients, trunks and dialplan entries', async (t) => {
    await admin.query(`INSERT INTO "${schema}".domains (name) VALUES ('other.test')`);
    await admin.query(`DELETE FROM "${schema}".domains WHERE name = 'pg.test'`);
    const counts = await admin.query(
      `SELECT (SELECT count(*) FROM "${schema}".clients)::int AS c, (SELECT count(*) FROM "${schema}".trunks)::int AS t,
              (SELECT count(*) FROM "${schema}".dialplan_entries)::int AS e`,
    );
    t.same(counts.rows[0], { c: 0, t: 0, e: 0 });
    const r = await src.reload();
    t.ok(r.ok);
    t.equal(findDomain(src.current()!, 'pg.test'), undefined);
    t.ok(findDomain(src.current()!, 'other.test'));
  });

  await t.test('an invalid row is rejected with its path; last good kept', async (t) => {
    const before = src.current();
    const { rows } = await admin.query(`SELECT id FROM "${schema}".domains WHERE name = 'other.test'`);
    await admin.query(`INSERT INTO "${schema}".clients (domain_id, username, password, codecs) VALUES ($1, '4000', 'pw', '{speex}')`, [rows[0].id]);
    const r = await src.reload();
    t.notOk(r.ok);
    t.ok(!r.ok && r.error instanceof ConfigValidationError);
    t.match(!r.ok && r.error.message, 'domains["other.test"].clients[0].codecs[0]: unknown codec "speex"');
    t.equal(src.current(), before);
  });

  await t.test('LISTEN is active once load() resolves: a NOTIFY sent right after it is not lost', async (t) => {
    const own = schema + '_listen'; // a schema of its own (the one above now holds an invalid row); load() creates it
    const fresh = new PgConfigSource({ connectionString: DB, schema: own, ttlSeconds: 0 });
    t.teardown(async () => {
      await fresh.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${own}" CASCADE`);
    });
    await fresh.load();
    await admin.query('SELECT pg_notify($1, $2)', [PG_NOTIFY_CHANNEL, own]);
    // Delivered to an active LISTEN within milliseconds; give it a generous second, then it was lost.
    for (let i = 0; i < 100 && fresh.pgCounters.notifications === 0; i++) await new Promise((r) => setTimeout(r, 10));
    t.equal(fresh.pgCounters.notifications, 1, 'the notification arrived');
  });

  await t.test('database unreachable on first load → typed error', async (t) => {
    const bad = new PgConfigSource({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema, ttlSeconds: 0 });
    await t.rejects(bad.load(), { code: 'DPBX_ERR_CONFIG_LOAD' });
    await bad.close();
  });
});
