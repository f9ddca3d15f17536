import t from 'tap';
import { compilePattern, compareSpecificity, patternMatches } from '../../../lib/config/pattern.js';
import { matchDialplan, normalizeConfig } from '../../../lib/config/index.js';

t.test('? matches exactly one character, * zero or more', async (t) => {
  t.ok(patternMatches('1???', '1234'));
  t.notOk(patternMatches('1???', '123'));
  t.notOk(patternMatches('1???', '12345'));
  t.notOk(patternMatches('1???', '2234'));
  t.ok(patternMatches('*', ''));
  t.ok(patternMatches('*', 'anything'));
  t.ok(patternMatches('9*', '9'));
  t.ok(patternMatches('9*', '900'));
  t.notOk(patternMatches('9*', '89'));
  t.ok(patternMatches('*1', '0001'));
  t.ok(patternMatches('1*5*9', '159'));
  t.ok(patternMatches('1*5*9', '1xx5yy9'));
  t.notOk(patternMatches('1*5*9', '1xx5yy8'));
  t.ok(patternMatches('?*', 'a'));
  t.notOk(patternMatches('?*', ''));
  t.ok(patternMatches('+44*', '+442071234567'), 'regex metacharacters are literal');
  t.notOk(patternMatches('1.3', '123'), '. is literal');
  t.ok(patternMatches('**', 'x'));
  t.notOk(patternMatches('', 'x'));
});

t.test('specificity: exact > fixed-length > fewer wildcards > longer literal prefix', async (t) => {
  const sorted = ['*', '1*', '12*', '1???', '12??', '1234', '?234', '1?*']
    .map(compilePattern)
    .sort(compareSpecificity)
    .map((p) => p.source);
  t.same(sorted, ['1234', '?234', '12??', '1???', '12*', '1*', '*', '1?*']);
});

function plan(entries: [string, string][]) {
  const dialplan = Object.fromEntries(entries);
  const cfg = normalizeConfig({ domains: { 'a.test': { clients: [{ username: 'u', password: 'p', dialplan }] } } });
  return cfg.domains.get('a.test')!.clients[0]!.dialplan;
}

t.test('the key-order defect (SPEC §8): the most specific entry wins in every key order', async (t) => {
  const items: [string, string][] = [
    ['*', 'https://h.test/a'],
    ['1???', 'https://h.test/b'],
    ['1234', 'https://h.test/c'],
  ];
  const orders = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  for (const o of orders) {
    const d = plan(o.map((i) => items[i]!));
    const hook = (n: string) => {
      const e = matchDialplan(d, n);
      return e && e.callHook.kind === 'url' ? e.callHook.url : undefined;
    };
    t.equal(hook('1234'), 'https://h.test/c', `1234 → c (order ${o})`);
    t.equal(hook('1999'), 'https://h.test/b', `1999 → b (order ${o})`);
    t.equal(hook('5'), 'https://h.test/a', `5 → a (order ${o})`);
  }
});

t.test('no match → undefined; longer literal prefix wins among star patterns', async (t) => {
  const d = plan([
    ['9*', 'https://h.test/nine'],
    ['90*', 'https://h.test/ninety'],
    ['1?', 'https://h.test/teen'],
  ]);
  t.equal(matchDialplan(d, '5'), undefined);
  t.equal(matchDialplan(d, '123'), undefined);
  t.equal(matchDialplan(d, '9011')!.pattern.source, '90*');
  t.equal(matchDialplan(d, '9111')!.pattern.source, '9*');
  t.equal(matchDialplan(d, '12')!.pattern.source, '1?');
  t.equal(matchDialplan(plan([]), '1'), undefined, 'empty dialplan');
});
