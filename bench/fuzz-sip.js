// Long fuzzing run of the SIP message layer: the same seeded mutation fuzzer as
// test/sip-stack/message/fuzz.test.ts (compiled to dist/test/...), for many more inputs and several seeds.
//
// Usage: npx tsc -p tsconfig.json && node bench/fuzz-sip.js [--quick] [--count N] [--seed S]
//   default 2,000,000 inputs from seed 1 (4 seeds × 500,000); --quick: 200,000 inputs (< 30 s);
//   --count N: total inputs; --seed S: first seed (the next ones are S+1, S+2, ...).
// Progress on stderr; one `BENCH {json}` line on stdout with inputs/s, outcome counts and any failures (seed and
// input index: `replay(corpus, seed, index)` in fuzzer.ts rebuilds the input). Exit code 1 when a failure was found.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ordinaryMessages, runFuzz, tortureMessages } from '../dist/test/sip-stack/message/fuzzer.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const total = opt('--count', quick ? 200_000 : 2_000_000);
const firstSeed = opt('--seed', 1);
if (!Number.isInteger(total) || total <= 0 || !Number.isInteger(firstSeed)) {
  process.stderr.write('usage: node bench/fuzz-sip.js [--quick] [--count N] [--seed S]\n');
  process.exit(2);
}
const log = (...a) => process.stderr.write(a.join(' ') + '\n');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = [...tortureMessages(join(root, 'test', 'fixtures', 'rfc4475')), ...ordinaryMessages()];
const seeds = Math.min(4, total);
const per = Math.ceil(total / seeds);

const agg = { inputs: 0, parsed: 0, rejected: 0, framerMessages: 0, framerErrors: 0, codes: {}, failures: [] };
const c0 = process.cpuUsage();
const t0 = Date.now();
for (let k = 0; k < seeds; k++) {
  const seed = firstSeed + k;
  const n = Math.min(per, total - agg.inputs);
  const r = runFuzz(corpus, seed, n, (done) => log(`seed ${seed}: ${done.toLocaleString('en')}/${n.toLocaleString('en')}`));
  agg.inputs += r.inputs;
  agg.parsed += r.parsed;
  agg.rejected += r.rejected;
  agg.framerMessages += r.framerMessages;
  agg.framerErrors += r.framerErrors;
  for (const [code, v] of Object.entries(r.codes)) agg.codes[code] = (agg.codes[code] ?? 0) + v;
  for (const f of r.failures) agg.failures.push({ seed, index: f.index, where: f.where, error: f.error.split('\n')[0] });
  log(`seed ${seed}: ${r.inputs} inputs, ${r.parsed} parsed, ${r.rejected} rejected, ${r.failures.length} failures`);
}
const cpu = process.cpuUsage(c0);
const cpuS = (cpu.user + cpu.system) / 1e6;
for (const f of agg.failures) log(`FAILURE seed ${f.seed} input ${f.index} (${f.where}): ${f.error}`);
process.stdout.write('BENCH ' + JSON.stringify({
  name: 'fuzz-sip',
  quick,
  first_seed: firstSeed,
  seeds,
  inputs: agg.inputs,
  inputs_per_cpu_s: Math.round(agg.inputs / cpuS),
  wall_s: Math.round((Date.now() - t0) / 100) / 10,
  parsed: agg.parsed,
  rejected: agg.rejected,
  framer_messages: agg.framerMessages,
  framer_errors: agg.framerErrors,
  codes: agg.codes,
  failures: agg.failures.length,
  failure_list: agg.failures.slice(0, 10),
}) + '\n');
process.exitCode = agg.failures.length > 0 ? 1 : 0;
