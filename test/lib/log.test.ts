import t from 'tap';
import { createLogger, lazyChild, silentLogger } from '../../lib/log.js';

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

t.test('lazyChild: the child is made on the first line written at an enabled level, with its bindings', async (t) => {
  const c = capture();
  const parent = createLogger({ level: 'info', destination: c.destination });
  let made = 0;
  const counting = Object.assign(Object.create(parent), {
    child: (b: Record<string, unknown>) => {
      made++;
      return parent.child(b);
    },
  });
  const log = lazyChild(counting, { ns: 'call', call: 'c1' });
  log.debug({ x: 1 }, 'below the level');
  t.equal(made, 0, 'no child for a line that is not written');
  t.equal(c.lines.length, 0);
  log.info({ x: 2 }, 'written');
  log.warn({ password: 'p' }, 'again');
  t.equal(made, 1, 'one child, made once');
  t.match(c.lines[0], { level: 30, msg: 'written', ns: 'call', call: 'c1', x: 2 });
  t.match(c.lines[1], { level: 40, ns: 'call', call: 'c1', password: '[redacted]' });
  log.child({ sub: 'x' }).error({}, 'nested');
  t.match(c.lines[2], { level: 50, ns: 'call', call: 'c1', sub: 'x' });
  t.doesNotThrow(() => lazyChild(silentLogger, { a: 1 }).error({}, 'x'), 'a parent without isLevelEnabled');
});
