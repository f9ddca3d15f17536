// Management HTTP API (SPEC §7).
export { ApiServer, type ApiBackend, type ApiServerOptions, type CallRedirect, type CdrQuery, type Leg } from './server.js';
