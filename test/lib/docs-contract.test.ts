// The documentation contract: every environment variable the product reads, every CallScript verb, every
// StatusHook event, every management API route and every error code exists in README.md or docs/, and what the
// docs list as a variable or a route exists in the code. Read from the sources themselves, so a new variable,
// route or code without its documentation fails here.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/env.js';
import { STATUS_EVENTS } from '../../lib/hooks/status-events.js';

const read = (...p: string[]): string => readFileSync(join(repoRoot, ...p), 'utf8');
const docsDir = join(repoRoot, 'docs');
const docs = [read('README.md'), ...readdirSync(docsDir).filter((f) => f.endsWith('.md')).map((f) => read('docs', f))].join('\n');

/** The product's TypeScript sources (not tests, benches or examples). */
function sources(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(repoRoot, dir))) {
      const rel = join(dir, name);
      if (name === 'node_modules' || name === 'build') continue;
      if (statSync(join(repoRoot, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.set(rel, read(rel));
    }
  };
  for (const dir of ['lib', 'sip-stack', 'media', 'codecs', 'bin']) walk(dir);
  return out;
}
const src = sources();
const allSource = [...src.values()].join('\n');

/** Every match of group 1 of `re` in `text`. */
function all(re: RegExp, text: string): string[] {
  return [...text.matchAll(re)].map((m) => m[1]!);
}

t.test('every environment variable the product reads is documented, and every documented one is read', async (t) => {
  const options = read('lib', 'options.ts');
  const read1 = all(/\b(?:str|int|host|url)\(env, '([A-Z][A-Z0-9_]+)'/g, options);
  const direct = all(/process\.env\.([A-Z][A-Z0-9_]+)/g, allSource);
  const names = [...new Set([...read1, ...direct])].sort();
  t.ok(read1.length >= 25, `the options parser reads ${read1.length} variables (the extraction works)`);
  t.ok(direct.includes('DPBX_RELAY_IO'), 'direct process.env reads are found too');
  for (const n of names) t.match(docs, new RegExp(`\\b${n}\\b`), `${n} is documented`);
  // The benches', scripts' and test helpers' own switches too.
  const tools = ['bench', join('bench', 'lib'), 'scripts', join('test', 'helpers')].flatMap((d) =>
    readdirSync(join(repoRoot, d)).filter((f) => /\.(js|ts|sh)$/.test(f)).map((f) => read(d, f)));
  const toolVars = [...new Set(all(/process\.env\.([A-Z][A-Z0-9_]+)/g, tools.join('\n')))].sort();
  t.ok(toolVars.includes('DPBX_REQUIRE_SERVICES'), `the tools read ${toolVars.join(', ')}`);
  for (const n of toolVars) t.match(docs, new RegExp(`\\b${n}\\b`), `${n} (bench/scripts/test helpers) is documented`);
  // The variable table of docs/server.md: its first column names variables the code reads.
  const server = read('docs', 'server.md');
  const table = server.slice(server.indexOf('## Environment variables'));
  const documented = all(/^\| ([A-Z][A-Z0-9_ /]+?) \|/gm, table).flatMap((c) => c.split(' / ').map((s) => s.trim()));
  t.ok(documented.length >= 25, `docs/server.md lists ${documented.length} variables`);
  for (const n of documented) t.ok(names.includes(n), `${n} (docs/server.md) is read by the code`);
});

t.test('every CallScript verb is documented', async (t) => {
  const script = read('lib', 'script', 'callscript.ts');
  const m = /const VERBS = \[([^\]]+)\]/.exec(script);
  t.ok(m, 'the verb list is found');
  const verbs = all(/'([a-z]+)'/g, m![1]!);
  t.same(verbs.length, 4, 'four verbs');
  const doc = read('docs', 'callscript.md');
  for (const v of verbs) t.match(doc, new RegExp('^\\| `' + v + '` \\|', 'm'), `${v} has its row in docs/callscript.md`);
});

t.test('every StatusHook event is documented, and no other is', async (t) => {
  for (const e of STATUS_EVENTS) t.match(docs, new RegExp('`' + e + '[ `]'), `${e} is documented`);
  const doc = read('docs', 'call-engine.md') + read('docs', 'hooks.md');
  const mentioned = new Set(all(/`((?:connect|transfer|playback|pause|response|hook|call):[a-z-]+)[ `]/g, doc));
  t.ok(mentioned.size >= 10, `${mentioned.size} event names mentioned in the engine and hook docs`);
  for (const e of mentioned) t.ok((STATUS_EVENTS as readonly string[]).includes(e), `${e} (docs) is an event the engine sends`);
});

t.test('the management API routes and docs/api.md list the same routes', async (t) => {
  const server = read('lib', 'api', 'server.ts');
  const code = new Set(all(/'((?:GET|POST|PUT|DELETE|PATCH) \/[^']*)'/g, server));
  t.ok(code.size >= 15, `${code.size} routes in lib/api/server.ts`);
  const api = read('docs', 'api.md');
  // `GET /domains/:d/calls/:id?leg=A` → `GET /domains/:/calls/:` (the router's form).
  const doc = new Set(all(/^\| `((?:GET|POST|PUT|DELETE|PATCH) \/[^`?]*)/gm, api).map((r) => r.replace(/:[a-zA-Z]+/g, ':')));
  t.same([...doc].sort(), [...code].sort(), 'same routes');
});

t.test('every error code the product defines is documented', async (t) => {
  const codes = [...new Set(all(/'(DPBX_ERR_[A-Z0-9_]+)'/g, allSource))].sort();
  t.ok(codes.length >= 60, `${codes.length} error codes in the sources`);
  for (const c of codes) t.match(docs, new RegExp(`\\b${c}\\b`), `${c} is documented`);
});
