// Public entry point of `dragon-pbx/sip-stack`. Each sub-layer owns its own index.ts; this file only re-exports.
export * from './message/index.js';
export * from './transport/index.js';
export * from './auth/index.js';
export * from './transaction/index.js';
export * from './dialog/index.js';
export * from './ua/index.js';
