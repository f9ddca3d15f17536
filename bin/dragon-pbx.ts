#!/usr/bin/env node
// Server entry point. The PBX assembly (config, registrar, call engine) is not built yet; until it is, the
// binary says so and exits with status 1 rather than pretending to serve.
import { VERSION } from '../lib/index.js';

process.stderr.write(`dragon-pbx ${VERSION}: the server assembly is not implemented yet (see README "Status")\n`);
process.exitCode = 1;
