/**
 * Mutated in-dialog requests and responses never make Dialog / DialogSet / ReliableProvisionalSender throw, and
 * the verdicts stay in the allowed set. Deterministic PRNG so a failure can be replayed.
 */
import t from 'tap';
import { parseMessage, type SipRequest, type SipResponse } from '../../../sip-stack/message/index.js';
import { VirtualClock } from '../../../sip-stack/transaction/index.js';
import { Dialog, DialogSet, ReliableProvisionalSender, negotiateAsUas, negotiateAsUac } from '../../../sip-stack/dialog/index.js';
import { invite, answer } from './helpers.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const ALPHABET = 'abc019;=<>:@,." tag-';
function mutate(s: string, r: () => number): string {
  const lines = s.split('\r\n');
  const i = 1 + Math.floor(r() * Math.max(1, lines.length - 3));
  const l = lines[i] ?? '';
  const chars = l.split('');
  for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
    const pos = Math.floor(r() * (chars.length + 1));
    const c = ALPHABET[Math.floor(r() * ALPHABET.length)]!;
    if (r() < 0.5) chars.splice(pos, 1); else chars.splice(pos, 0, c);
  }
  lines[i] = chars.join('');
  return lines.join('\r\n');
}

const BASE_REQ = (m: string, n: number) => `${m} sip:bob@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKz${n}\r\n` +
  `From: <sip:alice@atlanta.example>;tag=a1\r\nTo: <sip:bob@biloxi.example>;tag=b1\r\nCall-ID: call-1@atlanta\r\n` +
  `CSeq: ${314160 + n} ${m}\r\nContact: <sip:alice@127.0.0.1:5070>\r\nRAck: 5 314159 INVITE\r\nSession-Expires: 1800;refresher=uac\r\n` +
  `Min-SE: 90\r\nSupported: timer\r\nContent-Length: 0\r\n\r\n`;

t.test('mutated in-dialog traffic yields verdicts, never exceptions', async (t) => {
  const r = rng(99);
  const methods = ['INVITE', 'UPDATE', 'BYE', 'INFO', 'ACK', 'PRACK', 'NOTIFY'];
  let parsed = 0;
  for (let i = 0; i < 2000; i++) {
    const inv = invite();
    const created = Dialog.uasFromResponse(inv, answer(inv, i % 2 ? 180 : 200));
    if (!created.ok) throw new Error(created.reason);
    const d = created.dialog;
    const set = new DialogSet();
    set.add(d);
    const clock = new VirtualClock();
    const rel = new ReliableProvisionalSender({ clock, firstRSeq: 5, send: () => {}, onTimeout: () => {} });
    rel.send(answer(inv, 183));
    const m = methods[Math.floor(r() * methods.length)]!;
    let req: SipRequest;
    try {
      req = parseMessage(Buffer.from(mutate(BASE_REQ(m, i % 5), r))) as SipRequest;
    } catch {
      continue;
    }
    if (!req.isRequest) continue;
    parsed++;
    const v = set.checkInDialogRequest(req);
    t.ok(v.action === 'accept' || [481, 491, 500].includes(v.status), `verdict ${JSON.stringify([v.action, (v as { status?: number }).status])}`);
    rel.receivePrack(req);
    negotiateAsUas(req);
    let res: SipResponse | undefined;
    try {
      res = parseMessage(Buffer.from(mutate(answer(inv, 200).toString(), r))) as SipResponse;
    } catch {
      res = undefined;
    }
    if (res !== undefined && !res.isRequest) {
      d.receiveResponse(res);
      d.localResponseSent(res);
      negotiateAsUac(res);
      Dialog.uacFromResponse(inv, res);
      set.receiveInviteResponse(inv, res);
    }
    rel.close();
  }
  t.ok(parsed > 1000, `most mutations still parse (${parsed}) so the dialog code is exercised`);
});
