import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { connect as tlsConnect } from 'node:tls';
import { createTransportLayer } from '../../../sip-stack/transport/transport-layer.js';
import { responseTarget } from '../../../sip-stack/transport/response-target.js';
import { topVia } from '../../../sip-stack/transport/message-adapter.js';
import { skipUnlessCommand } from '../../helpers/env.js';
import { nextMessage, okFor, optionsRequest, readUntil } from './helpers.js';

const skip = skipUnlessCommand('openssl');

/** A throw-away self-signed certificate for localhost / 127.0.0.1, made with the openssl command. */
function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dpbx-tls-'));
  try {
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('TLS: a client request is delivered with transport tls and answered over the same connection', { skip }, async (t) => {
  const { cert, key } = selfSigned();
  const layer = createTransportLayer({ listen: [{ transport: 'tls', host: '127.0.0.1', port: 0, tls: { cert, key } }] });
  await layer.listen();
  t.teardown(() => layer.close());
  const port = layer.listener('tls')!.port;
  t.ok(port > 0);
  const client = tlsConnect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
  t.teardown(() => client.destroy());
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', () => resolve());
    client.once('error', reject);
  });
  t.ok(client.authorized, 'client verified the server certificate');
  const req = optionsRequest({ transport: 'TLS', sentBy: 'client.invalid', viaParams: ';rport' });
  const got = nextMessage(layer);
  client.write(req);
  const { message, source } = await got;
  t.equal(source.transport, 'tls');
  t.equal(source.address, '127.0.0.1');
  t.equal(source.port, client.localPort);
  t.match(source.connectionId, /^tls-/);
  t.equal(topVia(message)!.rport, client.localPort);
  const reply = readUntil(client, (s) => s.includes('200 OK'));
  const r = await layer.send(Buffer.from(okFor(req)), responseTarget(topVia(message)!, source));
  t.ok(r.ok);
  t.match(await reply, /^SIP\/2\.0 200 OK/);
});

t.test('TLS layer to layer: outbound connect verifies the certificate, the response comes back on the flow', { skip }, async (t) => {
  const { cert, key } = selfSigned();
  const server = createTransportLayer({ listen: [{ transport: 'tls', host: '127.0.0.1', port: 0, tls: { cert, key } }] });
  await server.listen();
  t.teardown(() => server.close());
  const client = createTransportLayer({ tlsClient: { ca: cert, servername: 'localhost' } });
  await client.listen();
  t.teardown(() => client.close());
  const port = server.listener('tls')!.port;

  const req = optionsRequest({ transport: 'TLS', sentBy: 'client.invalid' });
  const atServer = nextMessage(server);
  const sent = await client.send(Buffer.from(req), { transport: 'tls', address: '127.0.0.1', port });
  t.ok(sent.ok, 'sent');
  const { message, source } = await atServer;
  const atClient = nextMessage(client);
  t.ok((await server.send(Buffer.from(okFor(req)), responseTarget(topVia(message)!, source))).ok);
  const back = await atClient;
  t.equal(back.source.connectionId, sent.ok ? sent.connectionId : 'x', 'response arrived on the outbound connection');
  t.equal(back.message.isRequest, false);
  t.equal(client.counters.connectionsOpened, 1);

  // A client that does not trust the certificate fails the handshake: counted on both sides, nothing thrown.
  const strict = createTransportLayer({});
  t.teardown(() => strict.close());
  const fail = await strict.send(Buffer.from(req), { transport: 'tls', address: '127.0.0.1', port });
  t.equal(fail.ok, false);
  t.equal(!fail.ok && fail.error.code, 'DPBX_ERR_TRANSPORT_CONNECT');
  t.equal(strict.counters.connectFailures, 1);
});
