/**
 * AMR is optional for library users: without the addon (or its Debian libraries) AMR and AMR-WB are not listed
 * (so not offered in SDP), creating them is a typed error, and logCodecStatus() writes exactly ONE warning line
 * saying why. Run in a child process with DPBX_AMR_ADDON pointing nowhere (the addon is loaded once per process).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ts = import.meta.url.endsWith('.ts');
const codecsIndex = new URL(`../../codecs/index${ts ? '.ts' : '.js'}`, import.meta.url).href;
const script = `
const c = await import(${JSON.stringify(codecsIndex)});
const lines = [];
const logger = { trace() {}, debug() {}, info() {}, error() {}, warn(obj, msg) { lines.push({ obj, msg }); } };
const n = c.logCodecStatus(logger);
let err = null;
try { c.createEncoder('AMR'); } catch (e) { err = e.code; }
console.log(JSON.stringify({ names: c.listCodecs().map((x) => x.name), lines, n, err, status: c.amrStatus() }));
`;

function probe(env: Record<string, string>): { names: string[]; lines: Array<{ obj: { codecs: string[]; reason: string }; msg: string }>; n: number; err: string | null; status: { available: boolean; reason?: string } } {
  const r = spawnSync(process.execPath, [...(ts ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('.', import.meta.url)),
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

t.test('AMR libraries absent: not listed, typed error, one warning line that says why', async (t) => {
  const p = probe({ DPBX_AMR_ADDON: '/nonexistent/dpbx_amr.node' });
  t.notOk(p.names.includes('AMR'), 'AMR not listed');
  t.notOk(p.names.includes('AMR-WB'), 'AMR-WB not listed');
  for (const n of ['PCMU', 'PCMA', 'G722', 'GSM']) t.ok(p.names.includes(n), `${n} still listed`);
  t.equal(p.err, 'DPBX_ERR_CODEC_UNAVAILABLE');
  const amrLines = p.lines.filter((l) => l.obj.codecs.includes('AMR'));
  t.equal(amrLines.length, 1, 'exactly one warning line for AMR and AMR-WB together');
  t.same(amrLines[0]!.obj.codecs, ['AMR', 'AMR-WB']);
  t.match(amrLines[0]!.msg, /AMR, AMR-WB not offered: AMR addon not found/, 'the line says why');
  t.equal(p.status.available, false);
  const off = probe({ DPBX_AMR_ADDON: 'off' });
  t.match(off.lines.find((l) => l.obj.codecs.includes('AMR'))?.msg, /disabled by DPBX_AMR_ADDON=off/);
});

t.test('with the addon present nothing is logged for AMR', async (t) => {
  const p = probe({ DPBX_AMR_ADDON: '' });
  if (!p.status.available) {
    t.equal(p.lines.filter((l) => l.obj.codecs.includes('AMR')).length, 1, 'addon not built here: still one line');
    return;
  }
  t.ok(p.names.includes('AMR') && p.names.includes('AMR-WB'));
  t.equal(p.lines.length, 0, 'no warning at all');
});
