// Public entry point of `dragon-pbx/media`. Each sub-layer owns its own index.ts; this file only re-exports.
export * from './sdp/index.js';
export * from './rtp/index.js';
export * from './relay/index.js';
export * from './play/index.js';
