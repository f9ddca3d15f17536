import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optionsFromEnv, OptionsError, parseCodecList, redactOptions, bundledConfigFile } from '../../lib/options.js';

const empty = mkdtempSync(join(tmpdir(), 'dpbx-opt-'));

t.test('defaults are the SPEC §1 contract', async (t) => {
  const { options: o, warnings } = optionsFromEnv({}, empty);
  t.equal(o.sipHost, '0.0.0.0');
  t.equal(o.sipPort, 5060);
  t.equal(o.sipTlsPort, 5061);
  t.equal(o.rtpPortMin, 10000);
  t.equal(o.rtpPortMax, 20000);
  t.equal(o.dataSource, 'json');
  t.equal(o.configFile, bundledConfigFile(), 'no ./config.json → the bundled example');
  t.equal(o.configTtl, 60);
  t.same(o.defaultCodecs, ['G722', 'PCMA', 'PCMU']);
  t.equal(o.defaultRingtone, 'file:/uk.wav');
  t.equal(o.logLevel, 'info');
  t.equal(o.webPort, 2999);
  t.equal(o.webHost, '127.0.0.1', 'without API_TOKEN the API binds to loopback');
  t.equal(o.registrationMinSecs, 30);
  t.equal(o.registrationMaxSecs, 3600);
  t.equal(o.hookTimeoutMs, 3000);
  t.same(warnings, []);
});

t.test('./config.json in the working directory is used when present; FILE_PATH defaults to its folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-opt-'));
  writeFileSync(join(dir, 'config.json'), '{}');
  const { options } = optionsFromEnv({}, dir);
  t.equal(options.configFile, join(dir, 'config.json'));
  t.equal(options.filePath, dir);
});

t.test('DEFAULT_CODECS is parsed as a list in preference order', async (t) => {
  t.same(optionsFromEnv({ DEFAULT_CODECS: 'pcmu, opus,PCMU ,g722' }, empty).options.defaultCodecs, ['PCMU', 'opus', 'G722']);
  t.same(parseCodecList('AMR-WB,gsm'), ['AMR-WB', 'GSM']);
  t.throws(() => parseCodecList('PCMU,G729'), /unknown codec "G729"/);
  t.throws(() => parseCodecList(' , '), /at least one codec/);
});

t.test('bad values name the variable', async (t) => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ SIP_PORT: 'abc' }, /^SIP_PORT: "abc" is not a whole number/],
    [{ SIP_PORT: '70000' }, /^SIP_PORT: 70000 is outside/],
    [{ SIP_HOST: 'example.com' }, /^SIP_HOST:/],
    [{ LOGLEVEL: 'loud' }, /^LOGLEVEL:/],
    [{ DATA_SOURCE: 'mysql' }, /^DATA_SOURCE:/],
    [{ DATA_SOURCE: 'api' }, /^CONFIG_URL: is required/],
    [{ DATA_SOURCE: 'pg' }, /^DATABASE_URL: is required/],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL:/],
    [{ RTP_PORT_MIN: '20000', RTP_PORT_MAX: '20001' }, /^RTP_PORT_MAX:/],
    [{ REGISTRATION_MIN_SECS: '600', REGISTRATION_MAX_SECS: '60' }, /^REGISTRATION_MAX_SECS:/],
    [{ WEB_HOST: '0.0.0.0' }, /^API_TOKEN: is required/],
    [{ SIP_TLS_CERT: 'cert.pem' }, /^SIP_TLS_KEY:/],
  ];
  for (const [env, re] of bad) {
    const err = (() => { try { optionsFromEnv(env, empty); } catch (e) { return e; } return undefined; })();
    t.type(err, OptionsError, JSON.stringify(env));
    t.match((err as Error).message, re);
  }
});

t.test('legacy DRACHTIO_*/RTPENGINE_* variables are accepted with one warning line', async (t) => {
  const { warnings } = optionsFromEnv({ DRACHTIO_HOST: 'x', DRACHTIO_PORT: '9022', RTPENGINE_HOST: 'y' }, empty);
  t.equal(warnings.length, 1);
  t.match(warnings[0], /DRACHTIO_HOST, DRACHTIO_PORT, RTPENGINE_HOST/);
});

t.test('redactOptions never shows tokens or URL passwords', async (t) => {
  const { options } = optionsFromEnv({
    API_TOKEN: 'tok-123', CONFIG_TOKEN: 'cfg-456', HOOK_SECRET: 'hs-789',
    REDIS_URL: 'redis://:redispw@127.0.0.1:6379', DATABASE_URL: 'postgres://u:dbpw@127.0.0.1/test', DATA_SOURCE: 'pg',
  }, empty);
  const text = JSON.stringify(redactOptions(options));
  for (const secret of ['tok-123', 'cfg-456', 'hs-789', 'redispw', 'dbpw']) t.notOk(text.includes(secret), secret);
  t.match(text, /postgres:\/\/u:\*\*\*@127\.0\.0\.1/);
});

t.test('DIGEST_ALGORITHMS, CALLHOOK_FALLBACK, CALL_FALLBACK_CODE', async (t) => {
  const d = optionsFromEnv({}, empty).options;
  t.same(d.digestAlgorithms, ['MD5', 'SHA-256'], 'MD5 first by default (interop)');
  t.equal(d.callFallbackCode, 480);
  t.equal(d.callHookFallback, undefined);
  const o = optionsFromEnv({ DIGEST_ALGORITHMS: 'sha-256, md5', CALLHOOK_FALLBACK: 'https://app.example/fallback', CALL_FALLBACK_CODE: '503' }, empty).options;
  t.same(o.digestAlgorithms, ['SHA-256', 'MD5']);
  t.equal(o.callHookFallback, 'https://app.example/fallback');
  t.equal(o.callFallbackCode, 503);
  t.equal(optionsFromEnv({ CALLHOOK_FALLBACK: 'file:fallback.json' }, empty).options.callHookFallback, 'file:fallback.json');
  const variableOf = (env: Record<string, string>) => {
    try {
      optionsFromEnv(env, empty);
      return undefined;
    } catch (err) {
      return err instanceof OptionsError ? err.variable : String(err);
    }
  };
  t.equal(variableOf({ DIGEST_ALGORITHMS: 'SHA-1' }), 'DIGEST_ALGORITHMS');
  t.equal(variableOf({ CALLHOOK_FALLBACK: 'ftp://x' }), 'CALLHOOK_FALLBACK');
  t.equal(variableOf({ CALL_FALLBACK_CODE: '200' }), 'CALL_FALLBACK_CODE');
});
