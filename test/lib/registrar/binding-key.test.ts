import t from 'tap';
import { parseNameAddr } from '../../../sip-stack/index.js';
import { contactIdentity } from '../../../lib/registrar/index.js';

const id = (s: string) => contactIdentity(parseNameAddr(s, 'Contact'));

t.test('RFC 3261 §19.1.4 (simplified): host case-insensitive, user case-sensitive, port as written', async (t) => {
  t.equal(id('<sip:alice@Example.COM:5060>').key, id('<sip:alice@example.com:5060>').key);
  t.not(id('<sip:Alice@example.com>').key, id('<sip:alice@example.com>').key);
  t.not(id('<sip:alice@example.com>').key, id('<sip:alice@example.com:5060>').key, 'omitted port ≠ explicit 5060');
  t.not(id('<sip:a@h;transport=tcp>').key, id('<sip:a@h>').key, 'transport matters');
  t.equal(id('<sip:a@h;transport=TCP>').key, id('<sip:a@h;transport=tcp>').key);
  t.equal(id('<sip:a@h;ob;rinstance=x>').key, id('<sip:a@h>').key, 'other URI params do not change identity');
  t.equal(id('<sip:a@h>;expires=60;q=0.5').key, id('<sip:a@h>').key, 'header params do not either');
  t.not(id('<sips:a@h>').key, id('<sip:a@h>').key);
});

t.test('RFC 5626 §6: +sip.instance and reg-id identify the binding, whatever the URI', async (t) => {
  const a = id('<sip:a@10.0.0.1:5060;ob>;+sip.instance="<urn:uuid:1>";reg-id=1');
  const b = id('<sip:a@10.9.9.9:7000;ob>;+sip.instance="<urn:uuid:1>";reg-id=1');
  const c = id('<sip:a@10.0.0.1:5060;ob>;+sip.instance="<urn:uuid:1>";reg-id=2');
  t.equal(a.key, b.key);
  t.not(a.key, c.key, 'another reg-id is another flow');
  t.equal(a.instance, '<urn:uuid:1>');
  t.equal(a.regId, 1);
  const noReg = id('<sip:a@h>;+sip.instance="<urn:uuid:2>"');
  t.equal(noReg.regId, undefined);
  t.equal(noReg.key, 'instance:<urn:uuid:2>');
});
