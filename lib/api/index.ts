// Management HTTP API (SPEC §7).
export { ApiServer, ApiNotImplementedError, type ApiBackend, type ApiServerOptions, type CallRedirect, type CdrQuery, type Leg } from './server.js';
