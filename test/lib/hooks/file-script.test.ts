import t from 'tap';
import { evaluateFileScript, renderTemplate, wildcardMatch, HookError } from '../../../lib/hooks/index.js';

// Monday 2026-11-23 10:15 UTC = 10:15 in London (GMT in November), 05:15 in New York.
const monday = new Date('2026-11-23T10:15:00Z');

t.test('placeholders render call fields; a lone numeric placeholder stays a number', async (t) => {
  const out = renderTemplate(
    { a: 'to {{to}} from {{ from }}', n: '{{count}}', d: '{{domain}}', nested: ['{{callId}}'] },
    { to: '1002', from: '1001', domain: 'pbx.local', count: 2, callId: 'abc', now: monday },
  );
  t.same(out, { a: 'to 1002 from 1001', n: 2, d: 'pbx.local', nested: ['abc'] });
});

t.test('clock helpers use the named timezone', async (t) => {
  const ctx = { now: monday };
  t.equal(renderTemplate('{{time:Europe/London}}', ctx), '10:15');
  t.equal(renderTemplate('{{time:America/New_York}}', ctx), '05:15');
  t.equal(renderTemplate('{{weekday:Asia/Tokyo}}', ctx), 'mon');
  t.equal(renderTemplate('{{date}}', ctx), '2026-11-23');
  t.equal(renderTemplate('{{hour:Asia/Tokyo}}', ctx), 19);
});

t.test('unknown placeholders and timezones are errors, not empty strings', async (t) => {
  t.throws(() => renderTemplate('{{nope}}', { now: monday }), HookError);
  t.throws(() => renderTemplate('{{time:Mars/Olympus}}', { now: monday }), /unknown timezone/);
});

const officeHours = {
  rules: [
    { when: { dates: ['2026-12-25'], timezone: 'Europe/London' }, script: [{ verb: 'announce', url: 'file:/closed.wav' }] },
    {
      when: { timezone: 'Europe/London', weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'], between: ['09:00', '17:30'] },
      script: [{ verb: 'connect', dest: { type: 'client', address: '{{to}}' } }],
    },
    { when: { count: [1, 2] }, script: [{ verb: 'pause', duration: 1 }] },
    { script: [{ verb: 'response', code: 480 }] },
  ],
};

t.test('office-hours rules pick the first matching rule', async (t) => {
  t.same(evaluateFileScript(officeHours, { to: '1002', now: monday }), [
    { verb: 'connect', dest: { type: 'client', address: '1002' } },
  ]);
  const evening = new Date('2026-11-23T18:00:00Z');
  t.same(evaluateFileScript(officeHours, { now: evening, count: 0 }), [{ verb: 'response', code: 480 }]);
  t.same(evaluateFileScript(officeHours, { now: evening, count: 1 }), [{ verb: 'pause', duration: 1 }]);
  const saturday = new Date('2026-11-28T10:00:00Z');
  t.same(evaluateFileScript(officeHours, { now: saturday }), [{ verb: 'response', code: 480 }]);
  const christmas = new Date('2026-12-25T10:00:00Z');
  t.same(evaluateFileScript(officeHours, { now: christmas }), [{ verb: 'announce', url: 'file:/closed.wav' }]);
});

t.test('between wraps past midnight', async (t) => {
  const night = { rules: [{ when: { between: ['22:00', '06:00'] }, script: ['night'] }, { script: ['day'] }] };
  t.same(evaluateFileScript(night, { now: new Date('2026-11-23T23:30:00Z') }), ['night']);
  t.same(evaluateFileScript(night, { now: new Date('2026-11-23T05:59:00Z') }), ['night']);
  t.same(evaluateFileScript(night, { now: new Date('2026-11-23T06:00:00Z') }), ['day']);
});

t.test('from/to conditions use dialplan wildcards', async (t) => {
  const s = { rules: [{ when: { to: ['9*'] }, script: ['out'] }, { when: { from: '1???' }, script: ['int'] }] };
  t.same(evaluateFileScript(s, { to: '901234', now: monday }), ['out']);
  t.same(evaluateFileScript(s, { to: '2000', from: '1234', now: monday }), ['int']);
  t.throws(() => evaluateFileScript(s, { to: '2000', from: '12345', now: monday }), /no rule matched/);
});

t.test('malformed rules name their path', async (t) => {
  t.throws(() => evaluateFileScript({ rules: [{ when: { weekdays: ['funday'] }, script: [] }] }, { now: monday }), /rules\[0\]\.when\.weekdays/);
  t.throws(() => evaluateFileScript({ rules: [{ when: { between: ['9', '17:00'] }, script: [] }] }, { now: monday }), /between\[0\]/);
  t.throws(() => evaluateFileScript({ rules: [{ when: { colour: 'red' }, script: [] }] }, { now: monday }), /colour: unknown condition/);
  t.throws(() => evaluateFileScript({ rules: [{ nowhen: 1 }] }, { now: monday }), /rules\[0\]/);
});

t.test('wildcardMatch: ? is one character, * zero or more', async (t) => {
  t.ok(wildcardMatch('1???', '1234'));
  t.notOk(wildcardMatch('1???', '123'));
  t.notOk(wildcardMatch('1???', '12345'));
  t.ok(wildcardMatch('9*', '9'));
  t.ok(wildcardMatch('*', ''));
  t.ok(wildcardMatch('*5*', '12345678'));
  t.notOk(wildcardMatch('*5', '12345678'));
  t.ok(wildcardMatch('a*b*c', 'aXXbYYc'));
  // pathological input stays fast (no exponential backtracking)
  t.notOk(wildcardMatch('*a*a*a*a*a*a*a*b', 'a'.repeat(5000)));
});
