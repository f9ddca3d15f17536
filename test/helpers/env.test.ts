import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, skipUnless, hasCommand } from './env.js';

t.test('repoRoot is the folder holding package.json', async (t) => {
  t.ok(existsSync(join(repoRoot, 'package.json')));
});

t.test('skipUnless gives a reason for an absent service and false for a present one', async (t) => {
  t.equal(skipUnless(true, 'x'), false);
  if (process.env.DPBX_REQUIRE_SERVICES === '1') {
    t.throws(() => skipUnless(false, 'thing'), /required/);
  } else {
    t.equal(skipUnless(false, 'thing'), 'thing not available');
  }
});

t.test('hasCommand finds sh and not a made-up command', async (t) => {
  t.ok(hasCommand('sh'));
  t.notOk(hasCommand('dpbx-no-such-command-xyz'));
});
