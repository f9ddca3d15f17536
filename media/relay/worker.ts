/**
 * worker_threads entry: one SessionHost per worker. Sockets are created and owned here, so the per-packet path
 * never touches the main thread. Protocol (structured clone):
 *   main → worker  { id, req: HostRequest }
 *   worker → main  { id, ok: true, result } | { id, ok: false, error: WireError } | { event: HostEvent }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SessionHost, type HostConfig, type HostRequest } from './session-host.js';
import { toWireError } from './errors.js';

const port = parentPort;
if (!port) throw new Error('media/relay worker must run inside worker_threads');
const host = new SessionHost(workerData as HostConfig, (event) => port.postMessage({ event }));
port.on('message', (msg: { id: number; req: HostRequest }) => {
  host.handle(msg.req).then(
    (result) => port.postMessage({ id: msg.id, ok: true, result }),
    (err) => port.postMessage({ id: msg.id, ok: false, error: toWireError(err) }),
  );
});
