/**
 * The committed .wasm artefacts provably come from our C sources: rebuilding them with the build script (clang +
 * wasm-ld, no libc) gives byte-identical files.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, skipUnlessCommand } from '../helpers/env.js';
import { tmp } from './audio.js';

t.test('committed wasm == rebuilt from codecs/wasm/*.c', { skip: skipUnlessCommand('clang') || skipUnlessCommand('wasm-ld') }, async (t) => {
  const out = tmp();
  const r = spawnSync('sh', [join(repoRoot, 'scripts', 'build-codecs.sh'), 'wasm'], {
    env: { ...process.env, WASM_OUT_DIR: out },
    encoding: 'utf8',
  });
  t.equal(r.status, 0, `build script succeeded ${r.stderr}`);
  for (const name of ['g722', 'gsm610', 'resample']) {
    const committed = join(repoRoot, 'codecs', 'wasm', `${name}.wasm`);
    if (!existsSync(join(repoRoot, 'codecs', 'wasm', `${name}.c`))) continue;
    t.ok(existsSync(committed), `${name}.wasm is committed`);
    t.ok(readFileSync(committed).equals(readFileSync(join(out, `${name}.wasm`))), `${name}.wasm byte-identical to a fresh build`);
  }
});
