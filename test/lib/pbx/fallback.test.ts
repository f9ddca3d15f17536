// SPEC §3: when the CallHook fails, the configured fallback CallHook (CALLHOOK_FALLBACK) runs; without one (or
// when it fails too) the call ends with CALL_FALLBACK_CODE (default 480).
import t from 'tap';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPbx } from '../../../lib/index.js';
import { parseMessage } from '../../../sip-stack/index.js';

const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

/** A raw INVITE from 127.0.0.1 (a trunk source); resolves with the final status (the ACK is sent). */
function invite(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error('no final response')); }, 60000);
    sock.on('message', (buf) => {
      const m = parseMessage(buf);
      if (m.isRequest || m.status < 200) return;
      clearTimeout(timer);
      const lp = sock.address().port;
      const ack = `ACK sip:5550000@127.0.0.1:${port} SIP/2.0\r\nVia: ${m.get('Via')}\r\nFrom: ${m.get('From')}\r\nTo: ${m.get('To')}\r\nCall-ID: ${m.callId}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContact: <sip:t@127.0.0.1:${lp}>\r\nContent-Length: 0\r\n\r\n`;
      sock.send(ack, port, '127.0.0.1', () => { sock.close(); resolve(m.status); });
    });
    sock.bind(0, '127.0.0.1', () => {
      const lp = sock.address().port;
      const msg = `INVITE sip:5550000@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bK${Math.random().toString(36).slice(2)};rport\r\nFrom: <sip:carrier@127.0.0.1>;tag=f1\r\nTo: <sip:5550000@127.0.0.1>\r\nCall-ID: fb-${Math.random().toString(36).slice(2)}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:t@127.0.0.1:${lp}>\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`;
      sock.send(msg, port, '127.0.0.1');
    });
  });
}

function configWith(callHook: () => unknown) {
  return { domains: { 'pbx.test': { trunks: [{ id: 1, name: 't', inbound: ['127.0.0.1/32'], dialplan: { '*': callHook } }] } } };
}

t.test('the fallback CallHook runs when the CallHook fails; CALL_FALLBACK_CODE otherwise', { timeout: 170000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-fb-'));
  writeFileSync(join(dir, 'fallback.json'), JSON.stringify([{ verb: 'response', code: 486, reason: 'Busy Here' }]));
  const base = 46000 + Math.floor(Math.random() * 300) * 2;
  let asked = 0;
  const failing = () => {
    asked++;
    throw new Error('the app is broken');
  };
  const a = createPbx({ config: configWith(failing), filePath: dir, callHookFallback: 'file:fallback.json', sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: base, rtpPortMax: base + 20 });
  const pa = (await a.start()).sip.find((s) => s.transport === 'udp')!.port;
  t.teardown(() => a.stop());
  t.equal(await invite(pa), 486, 'the fallback script answered 486');
  t.ok(asked >= 1, 'the CallHook was asked first');

  const b = createPbx({ config: configWith(failing), callFallbackCode: 503, sipHost: '127.0.0.1', sipPort: 0, publicIp: '127.0.0.1', api: false, rtpPortMin: base + 40, rtpPortMax: base + 60 });
  const pb = (await b.start()).sip.find((s) => s.transport === 'udp')!.port;
  t.teardown(() => b.stop());
  t.equal(await invite(pb), 503, 'no fallback hook: CALL_FALLBACK_CODE');
});
