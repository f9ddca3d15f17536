// REFER at the script level (SPEC §6): CallHook with refer:true and to = the Refer-To user, the new script connects
// the remaining party, the referrer is released, transfer:requested/complete/failed and NOTIFY progress.
import t from 'tap';
import { referToUser } from '../../../lib/call/index.js';
import { flush, harness } from './fakes.js';

async function bridged(replies: unknown[], opts: { maxRetries?: number } = {}) {
  const h = harness({ replies: [[{ verb: 'connect', dest: 'sip:bob@127.0.0.1' }], ...replies], ...opts });
  await flush();
  const bob = h.dialer.attempts[0]!;
  bob.emit('answered');
  await flush();
  return { h, bob };
}

t.test('blind transfer by the callee: the caller is connected to the Refer-To target, the referrer released', async (t) => {
  const { h, bob } = await bridged([[{ verb: 'connect', dest: { type: 'client', address: '1003' } }]]);
  h.regs.set('a.example.com', '1003', ['sip:1003@10.0.0.9']);
  const notes: string[] = [];
  const d = h.exec.referRequested('<sip:1003@a.example.com;transport=udp>', { by: 'callee', notify: (s, r) => notes.push(`${s} ${r}`) });
  t.same(d, { accepted: true, status: 202, reason: 'Accepted' });
  await flush();
  t.same(h.hooks.bodies[1], { ...h.hooks.bodies[0], to: '1003', refer: true, count: 0 }, 'CallHook asked with refer:true and to = the Refer-To user');
  const carol = h.dialer.attempts[1]!;
  t.equal(carol.what, 'client:1003:sip:1003@10.0.0.9');
  t.same(notes, ['100 Trying']);
  t.equal(bob.hangups.length, 0, 'referrer kept until the target answers');
  t.ok(h.media.log.includes('unbridge A') && h.media.log.includes(`unbridge ${bob.id}`), 'the old pair is unbridged');
  t.ok(h.media.ringing.has('A'), 'the caller hears ringback while the target rings');
  carol.emit('answered');
  await flush();
  t.same(notes, ['100 Trying', '200 OK']);
  t.equal(bob.hangups.length, 1, 'referrer released');
  t.same(h.media.bridges.at(-1), ['A', carol.id]);
  t.equal(h.inbound.log.filter((l) => l === 'answer').length, 1, 'caller not answered twice');
  bob.emit('hangup'); // the referrer's BYE arriving late changes nothing
  await flush();
  t.equal(h.status.named('call:end').length, 0, 'the call goes on');
  h.inbound.bye();
  t.equal(await h.done, 'caller-hangup');
  t.equal(carol.hangups.length, 1);
  t.same(
    h.status.names.filter((n) => n.startsWith('transfer:')),
    ['transfer:requested', 'transfer:complete'],
  );
  t.same(h.status.named('transfer:requested')[0]!.data, { referTo: 'sip:1003@a.example.com;transport=udp' });
  t.equal(h.registry.cdrs.query('a.example.com')[0]?.transfers, 1);
});

t.test('transfer by the caller: the callee becomes the party connected to the target', async (t) => {
  const { h, bob } = await bridged([[{ verb: 'connect', dest: 'sip:carol@127.0.0.1' }]]);
  const d = h.exec.referRequested('sip:carol@127.0.0.1', { by: 'caller' });
  t.equal(d.status, 202);
  await flush();
  t.equal(h.hooks.bodies[1]!.to, 'carol');
  const carol = h.dialer.attempts[1]!;
  t.ok(h.media.ringing.has(bob.id), 'ringback to the remaining party (the callee)');
  t.same(h.inbound.earlySdp.length, 1, 'no 183 to an answered party');
  carol.emit('answered');
  await flush();
  t.equal(h.inbound.hangups, 1, 'the referring caller is released with a BYE');
  t.same(h.media.bridges.at(-1), [bob.id, carol.id]);
  h.inbound.bye(); // the released referrer's BYE-echo must not end the call
  await flush();
  t.equal(h.status.named('call:end').length, 0);
  carol.emit('hangup');
  t.equal(await h.done, 'callee-hangup');
  t.equal(bob.hangups.length, 1, 'remaining party hung up when the target hangs up');
});

t.test('transfer whose target does not answer: transfer:failed, NOTIFY with the failure, both released', async (t) => {
  const { h, bob } = await bridged([[{ verb: 'connect', dest: 'sip:carol@127.0.0.1' }]], { maxRetries: 0 });
  const notes: number[] = [];
  h.exec.referRequested('sip:carol@127.0.0.1', { by: 'callee', notify: (s) => notes.push(s) });
  await flush();
  h.dialer.attempts[1]!.emit('failed', 486, 'Busy Here');
  t.equal(await h.done, 'script-ended');
  t.same(notes, [100, 480]);
  t.same(h.status.names.filter((n) => n.startsWith('transfer:')), ['transfer:requested', 'transfer:failed']);
  t.equal(bob.hangups.length, 1, 'referrer released');
  t.equal(h.inbound.hangups, 1, 'answered caller gets BYE (no final response after 2xx)');
  t.equal(h.inbound.rejected, undefined);
});

t.test('transfer whose CallHook fails: hook:error, transfer:failed, call ended', async (t) => {
  const { h } = await bridged([new Error('hook down')]);
  h.exec.referRequested('sip:carol@127.0.0.1', { by: 'callee' });
  t.equal(await h.done, 'hook-failed');
  t.same(h.status.names.slice(-3), ['hook:error', 'transfer:failed', 'call:end']);
});

t.test('REFER refused when not bridged, while another transfer runs, or with Replaces', async (t) => {
  const h = harness({ replies: [[{ verb: 'connect', dest: 'sip:bob@127.0.0.1' }]] });
  await flush();
  t.same(h.exec.referRequested('sip:x@h', { by: 'caller' }), { accepted: false, status: 403, reason: 'Call Not Connected', code: 'DPBX_ERR_CALL_TRANSFER_REFUSED' });
  h.dialer.attempts[0]!.emit('answered');
  await flush();
  t.equal(h.exec.referRequested('<sip:x@h?Replaces=abc%3Bto-tag%3D1>', { by: 'callee' }).status, 501);
  t.equal(h.exec.referRequested('<mailto:x@h>', { by: 'callee' }).status, 400);
  t.equal(h.exec.referRequested('sip:x@h', { by: 'callee' }).status, 202);
  t.equal(h.exec.referRequested('sip:y@h', { by: 'callee' }).status, 491);
  h.inbound.bye();
  await h.done;
  t.equal(h.exec.referRequested('sip:z@h', { by: 'callee' }).status, 481);
  t.same(h.status.names.filter((n) => n.startsWith('transfer:')), ['transfer:requested', 'transfer:failed']);
});

t.test('referToUser takes the user part of a Refer-To value', async (t) => {
  t.equal(referToUser('<sip:1003@pbx.example.com;transport=tcp>'), '1003');
  t.equal(referToUser('sips:alice%20b@h'), 'alice b');
  t.equal(referToUser('"Carol" <sip:carol@h>'), 'carol');
  t.equal(referToUser('tel:+4420123'), '+4420123');
  t.equal(referToUser('<http://x>'), undefined);
});
