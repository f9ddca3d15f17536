// A transcoder plugin that only records that it was loaded (for the preloadTranscoder test).
(globalThis as { __dpbxProbeLoads?: number }).__dpbxProbeLoads = ((globalThis as { __dpbxProbeLoads?: number }).__dpbxProbeLoads ?? 0) + 1;
export function createTranscoder(): null {
  return null;
}
