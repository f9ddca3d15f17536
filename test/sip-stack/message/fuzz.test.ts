/**
 * Fuzzing the message layer inside `npm test`: 100,000 seeded mutations of the RFC 4475 torture messages and
 * ordinary call/registration traffic. The parser, the typed values, the serializer and the stream framer may
 * only ever fail with the layer's own SipParseError (see fuzzer.ts). A failure prints the seed and input index;
 * `replay()` rebuilds it. `DPBX_FUZZ_SEED` / `DPBX_FUZZ_COUNT` override the defaults; bench/fuzz-sip.js runs longer.
 */
import t from 'tap';
import { fixturePath } from '../../helpers/env.js';
import { ordinaryMessages, runFuzz, tortureMessages } from './fuzzer.js';

const seed = Number(process.env.DPBX_FUZZ_SEED ?? 4475);
const count = Number(process.env.DPBX_FUZZ_COUNT ?? 100_000);

t.test(`${count} mutated messages (seed ${seed}): only SipParseError, never another exception`, async (t) => {
  const torture = tortureMessages(fixturePath('rfc4475'));
  t.equal(torture.length, 49, 'the torture corpus is there');
  const corpus = [...torture, ...ordinaryMessages()];
  const report = runFuzz(corpus, seed, count);
  t.equal(report.inputs, count);
  t.same(report.failures, [], 'no input made the parser, validate(), toBuffer() or the framer throw anything else');
  // The mutations must exercise both outcomes, or the fuzzer tests nothing.
  t.ok(report.parsed > count / 20, `a share of the inputs still parse (${report.parsed})`);
  t.ok(report.rejected > count / 4, `most are rejected with typed errors (${report.rejected})`);
  t.ok(Object.keys(report.codes).length >= 6, `many distinct error codes seen: ${JSON.stringify(report.codes)}`);
  t.ok(report.framerMessages > 0 && report.framerErrors > 0, 'the framer saw messages and errors');
});
