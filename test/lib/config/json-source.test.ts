import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  ConfigValidationError,
  JsonConfigSource,
  bundledExampleConfig,
  createConfigSource,
  findDomain,
  matchClient,
  matchDialplan,
  type Config,
} from '../../../lib/config/index.js';
import { repoRoot } from '../../helpers/env.js';

const dir = mkdtempSync(join(tmpdir(), 'dpbx-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const good = (user: string) =>
  JSON.stringify({ domains: { 'a.test': { clients: [{ username: user, password: 'SECRETPW', dialplan: { '*': 'file:hook.json' } }] } } });

t.test('loads a file; file: hooks resolve against the config folder; reload picks up changes', async (t) => {
  const file = join(dir, 'c1.json');
  writeFileSync(file, good('1000'));
  const src = new JsonConfigSource({ file });
  t.teardown(() => src.close());
  const cfg = await src.load();
  const client = matchClient(findDomain(cfg, 'a.test')!, '1000')!;
  t.same(matchDialplan(client.dialplan, '42')!.callHook, { kind: 'file', name: 'hook.json', path: join(dir, 'hook.json') });

  const changes: Config[] = [];
  src.on('change', (c) => changes.push(c));
  const same = await src.reload();
  t.ok(same.ok && !same.changed, 'unchanged file → no change event');
  writeFileSync(file, good('2000'));
  const r = await src.reload();
  t.ok(r.ok && r.changed);
  t.equal(changes.length, 1);
  t.ok(matchClient(findDomain(src.current()!, 'a.test')!, '2000'));
  t.equal(src.counters.changes, 1);
});

t.test('a failed reload keeps the last good config and reports the error', async (t) => {
  const file = join(dir, 'c2.json');
  writeFileSync(file, good('1000'));
  const warnings: object[] = [];
  const logger = { trace() {}, debug() {}, info() {}, error() {}, warn: (o: object, m?: string) => warnings.push({ ...o, m }) };
  const src = new JsonConfigSource({ file, logger, filePath: '/srv/hooks' });
  t.teardown(() => src.close());
  const first = await src.load();
  t.equal(matchDialplan(matchClient(findDomain(first, 'a.test')!, '1000')!.dialplan, '1')!.callHook.kind, 'file');
  const errors: Error[] = [];
  src.on('error', (e) => errors.push(e));

  writeFileSync(file, '{"domains": {"a.test": {"clients": [{"username": "1000", "password": "SECRETPW"'); // truncated
  const r1 = await src.reload();
  t.notOk(r1.ok);
  t.equal(!r1.ok && (r1.error as ConfigError).code, 'DPBX_ERR_CONFIG_LOAD');
  t.equal(src.current(), first, 'last good config kept');

  writeFileSync(file, JSON.stringify({ domains: { 'a.test': { clients: [{ username: '1000', password: 'SECRETPW', codecs: ['nope'] }] } } }));
  const r2 = await src.reload();
  t.ok(!r2.ok && r2.error instanceof ConfigValidationError);
  t.match(!r2.ok && r2.error.message, 'domains["a.test"].clients[0].codecs[0]: unknown codec "nope"');
  t.equal(src.current(), first);
  t.equal(errors.length, 2);
  t.equal(src.counters.loadFailures, 2);
  t.notMatch(JSON.stringify(warnings), /SECRETPW/, 'secrets never logged');
  t.equal(warnings.length, 2);
});

t.test('first load failing throws a typed error', async (t) => {
  const src = new JsonConfigSource({ file: join(dir, 'missing.json') });
  await t.rejects(src.load(), { code: 'DPBX_ERR_CONFIG_LOAD' });
  t.equal(src.current(), undefined);
});

t.test('the bundled example: one domain, two password clients that can call each other', async (t) => {
  t.equal(bundledExampleConfig(), join(repoRoot, 'examples', 'config.json'));
  // No CONFIG_FILE and no ./config.json in the cwd → the bundled example.
  const cwd = process.cwd();
  process.chdir(dir);
  let src;
  try {
    src = createConfigSource({ env: {} });
  } finally {
    process.chdir(cwd);
  }
  t.teardown(() => src.close());
  t.equal(src.kind, 'json');
  const cfg = await src.load();
  t.same([...cfg.domains.keys()], ['pbx.local']);
  const d = findDomain(cfg, 'pbx.local')!;
  const a = matchClient(d, '1000')!;
  const b = matchClient(d, '1001')!;
  t.equal(a.auth.kind, 'password');
  t.equal(b.auth.kind, 'password');
  for (const [from, to] of [
    [a, '1001'],
    [b, '1000'],
  ] as const) {
    const e = matchDialplan(from.dialplan, to)!;
    t.same(e.callHook, { kind: 'file', name: 'scripts/internal.json', path: join(repoRoot, 'examples', 'scripts', 'internal.json') });
  }
});

t.test('createConfigSource validates DATA_SOURCE and DEFAULT_CODECS', async (t) => {
  t.throws(() => createConfigSource({ env: { DATA_SOURCE: 'mongo' } }), { code: 'DPBX_ERR_CONFIG_OPTIONS' });
  t.throws(() => createConfigSource({ env: { DEFAULT_CODECS: 'PCMU,speex' } }), { code: 'DPBX_ERR_CONFIG_OPTIONS' });
  t.throws(() => createConfigSource({ env: { DATA_SOURCE: 'api' } }), { code: 'DPBX_ERR_CONFIG_OPTIONS' });
  const file = join(dir, 'c3.json');
  writeFileSync(file, JSON.stringify({ domains: { 'a.test': { clients: [{ username: '1', password: 'x' }] } } }));
  const src = createConfigSource({ env: { CONFIG_FILE: file, DEFAULT_CODECS: ' pcmu , G722 ', FILE_PATH: '/srv' } });
  t.teardown(() => src.close());
  const cfg = await src.load();
  t.same(findDomain(cfg, 'a.test')!.clients[0]!.codecs, ['PCMU', 'G722'], 'DEFAULT_CODECS string parsed (SPEC §8)');
  t.equal(cfg.filePath, '/srv');
});

t.test('static source (library users) and its set()', async (t) => {
  const fn = () => [];
  const src = createConfigSource({ config: { domains: { 'a.test': { clients: [{ username: '*', reghook: fn }] } } } });
  t.equal(src.kind, 'static');
  const cfg = await src.load();
  t.ok(findDomain(cfg, 'a.test'));
});
