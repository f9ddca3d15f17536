// Public entry point of the `dragon-pbx` package.
export { VERSION } from './version.js';
export { createPbx, Pbx, resolvePbxOptions, SHUTDOWN_DRAIN_MS, type CreatePbxOptions, type PbxAddresses } from './pbx.js';
export { optionsFromEnv, OptionsError, type PbxOptions, type LogLevel, type DataSource } from './options.js';
export { createLogger, silentLogger, type Logger } from './log.js';
export { hookReply, verifyHookSignature, SIGNATURE_HEADER } from './hooks/index.js';
