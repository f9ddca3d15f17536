// preloadTranscoder: the plugin is loaded when the relay starts, not at the first transcoded bridge.
import t from 'tap';
import { createRelay } from '../../../media/relay/index.js';
import { randomRange, sibling, until } from './helpers.js';

const loads = () => (globalThis as { __dpbxProbeLoads?: number }).__dpbxProbeLoads ?? 0;

t.test('without preload nothing is loaded; with preload the plugin loads at start', async (t) => {
  const plugin = sibling('preload-probe-transcoder');
  const lazy = await createRelay({ ...randomRange(4), bindAddress: '127.0.0.1', workers: 0, transcoder: plugin });
  await new Promise((r) => setTimeout(r, 200));
  t.equal(loads(), 0, 'lazy: not loaded');
  await lazy.close();
  const eager = await createRelay({ ...randomRange(4), bindAddress: '127.0.0.1', workers: 0, transcoder: plugin, preloadTranscoder: true });
  t.ok(await until(() => loads() === 1, 3000), 'preloaded once, before any session');
  await eager.close();
});
