import t from 'tap';
import { parseCallScript, CallScriptError } from '../../../lib/script/index.js';

t.test('a valid script normalises: dest becomes a list, timeout defaults to 30', async (t) => {
  const s = parseCallScript([
    { verb: 'announce', url: 'file:/welcome.wav' },
    { verb: 'connect', dest: { type: 'client', address: '1002' }, callerId: '1001', statusLabel: 'desk' },
    { pause: { duration: 2 } },
    { verb: 'response', code: 486, reason: 'Busy Here', headers: { 'X-Why': 'busy' } },
  ]);
  t.same(s, [
    { verb: 'announce', url: 'file:/welcome.wav' },
    { verb: 'connect', dest: [{ type: 'client', address: '1002', timeout: 30 }], callerId: '1001', statusLabel: 'desk' },
    { verb: 'pause', duration: 2 },
    { verb: 'response', code: 486, reason: 'Busy Here', headers: { 'X-Why': 'busy' } },
  ]);
});

t.test('reply shapes: a bare array, {script}, {verbs} or a single verb object', async (t) => {
  const one = [{ verb: 'pause', duration: 1 }];
  t.same(parseCallScript({ script: [{ verb: 'pause', duration: 1 }] }), one);
  t.same(parseCallScript({ verbs: [{ verb: 'pause', duration: 1 }] }), one);
  t.same(parseCallScript({ verb: 'pause', duration: 1 }), one);
});

function problem(reply: unknown): string {
  try {
    parseCallScript(reply);
  } catch (e) {
    if (e instanceof CallScriptError) return e.message;
    throw e;
  }
  return 'accepted';
}

t.test('invalid scripts are rejected with the path of the offending field', async (t) => {
  t.equal(problem('garbage'), 'script: must be a JSON array of verbs');
  t.equal(problem([]), 'script: must contain at least one verb');
  t.match(problem([{ verb: 'dance' }]), /^\[0\]\.verb: unknown verb "dance"/);
  t.match(problem([{ verb: 'connect', dest: [] }]), /^\[0\]\.dest: must name at least one destination/);
  t.match(problem([{ verb: 'pause', duration: 1 }, { verb: 'connect', dest: [{ type: 'client', address: '1', timeout: 0 }] }]),
    /^\[1\]\.dest\[0\]\.timeout: must be a number from 1 to 3600/);
  t.match(problem([{ verb: 'connect', dest: { type: 'phone', address: 'x' } }]), /\[0\]\.dest\[0\]\.type/);
  t.match(problem([{ verb: 'connect', dest: { type: 'sip', address: 'http://x' } }]), /address: must be a sip: or sips: URI/);
  t.match(problem([{ verb: 'response', code: 200 }]), /\[0\]\.code: must be a number from 300 to 699/);
  t.match(problem([{ verb: 'response', code: 302 }]), /needs a Contact/);
  t.equal(problem([{ verb: 'response', code: 302, headers: { Contact: '<sip:x@y>' } }]), 'accepted');
  t.match(problem([{ verb: 'pause' }]), /\[0\]\.duration: is required/);
  t.match(problem([{ verb: 'announce', url: 'gopher://x' }]), /\[0\]\.url/);
  t.match(problem([{ verb: 'pause', duration: 1, extra: 1 }]), /\[0\]\.extra: unknown field/);
  t.match(problem([{ verb: 'pause', duration: 1, statusLabel: 7 }]), /statusLabel/);
});

t.test('header injection is impossible: CR/LF, bad names and PBX-owned headers are refused', async (t) => {
  const dest = (headers: unknown) => [{ verb: 'connect', dest: { type: 'client', address: '1', headers } }];
  t.match(problem(dest({ 'X-A': 'ok\r\nVia: evil' })), /CR, LF or NUL/);
  t.match(problem(dest({ 'Bad Name': 'x' })), /not a valid header name/);
  t.match(problem(dest({ 'Call-ID': 'x' })), /managed by the PBX/);
  t.match(problem([{ verb: 'connect', dest: { type: 'client', address: '1' }, callerName: 'a\nb' }]), /callerName/);
  t.equal(problem(dest({ 'X-Account': 42 })), 'accepted');
});

t.test('statusLabel false is kept (it silences the verb\'s StatusHook events)', async (t) => {
  t.same(parseCallScript([{ verb: 'pause', duration: 1, statusLabel: false }]), [{ verb: 'pause', duration: 1, statusLabel: false }]);
});
