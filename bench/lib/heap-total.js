// Prints the total of a V8 heap snapshot (the sum of every node's self size, array buffer contents included), in
// bytes, as one line on stdout: `node --max-old-space-size=8192 bench/lib/heap-total.js FILE.heapsnapshot`.
// Used by bench/call-rate.js --memory. Run in a child process: the snapshot JSON can be several hundred MB.
import { readFileSync } from 'node:fs';

const snap = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const fields = snap.snapshot.meta.node_fields;
const stride = fields.length;
const size = fields.indexOf('self_size');
const nodes = snap.nodes;
let total = 0;
for (let i = size; i < nodes.length; i += stride) total += nodes[i];
process.stdout.write(`${total}\n`);
