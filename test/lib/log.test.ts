import t from 'tap';
import { createLogger, silentLogger } from '../../lib/log.js';

function capture() {
  const lines: any[] = [];
  return { lines, destination: { write: (s: string) => { lines.push(JSON.parse(s)); } } };
}

t.test('one JSON line per event with level, msg, time and namespace bindings', async (t) => {
  const c = capture();
  const log = createLogger({ level: 'debug', destination: c.destination }).child({ ns: 'registrar' });
  log.info({ user: '1001' }, 'registered');
  log.trace({}, 'not at debug');
  t.equal(c.lines.length, 1);
  t.match(c.lines[0], { level: 30, msg: 'registered', ns: 'registrar', user: '1001' });
  t.match(c.lines[0].time, /^\d{4}-\d\d-\d\dT/);
});

t.test('secret-named fields are redacted at any depth up to four levels', async (t) => {
  const c = capture();
  const log = createLogger({ destination: c.destination });
  log.warn({ password: 'p1', trunk: { outbound: { password: 'p2' } }, a: { b: { c: { token: 't3' } } }, headers: { authorization: 'Digest x' } }, 'x');
  const text = JSON.stringify(c.lines[0]);
  for (const s of ['p1', 'p2', 't3', 'Digest x']) t.notOk(text.includes(s), `${s} not logged`);
  t.match(text, /\[redacted\]/);
});

t.test('silentLogger swallows everything and its children too', async (t) => {
  t.doesNotThrow(() => silentLogger.child({ a: 1 }).error({}, 'x'));
});
