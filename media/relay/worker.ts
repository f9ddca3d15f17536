/**
 * worker_threads entry: one SessionHost per worker. Sockets are created and owned here, so the per-packet path
 * never touches the main thread. Protocol (structured clone):
 *   main → worker  { id, req: HostRequest }
 *   worker → main  { id, ok: true, result } | { id, ok: false, error: WireError } | { event: HostEvent }
 * Either direction may pack several of these, in order, as { batch: [...] } (what one event-loop turn produced).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SessionHost, type HostConfig, type HostRequest } from './session-host.js';
import { toWireError } from './errors.js';

const port = parentPort;
if (!port) throw new Error('media/relay worker must run inside worker_threads');

// Replies and events of one event-loop turn leave in one postMessage (in order: an event never overtakes a reply).
let outbox: unknown[] = [];
const flush = (): void => {
  const out = outbox;
  outbox = [];
  port.postMessage(out.length === 1 ? out[0] : { batch: out });
};
const send = (m: unknown): void => {
  if (outbox.push(m) === 1) setImmediate(flush);
};

const host = new SessionHost(workerData as HostConfig, (event) => send({ event }));
type Request = { id: number; req: HostRequest };
const handle = (msg: Request): void => {
  host.handle(msg.req).then(
    (result) => send({ id: msg.id, ok: true, result }),
    (err) => send({ id: msg.id, ok: false, error: toWireError(err) }),
  );
};
port.on('message', (msg: Request | { batch: Request[] }) => {
  if ('batch' in msg) for (const m of msg.batch) handle(m);
  else handle(msg);
});
