#!/usr/bin/env node
/**
 * The server entry point: environment (SPEC §1) → options → createPbx(), signals, exit codes.
 *   exit 0  stopped by SIGTERM/SIGINT or POST /shutdown
 *   exit 1  could not start (port in use, config that does not load, ...)
 *   exit 2  a bad environment variable (one line on stderr naming it)
 */
import { createPbx, SHUTDOWN_DRAIN_MS, VERSION } from '../lib/index.js';
import { createLogger } from '../lib/log.js';
import { optionsFromEnv, OptionsError, redactOptions } from '../lib/options.js';

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = optionsFromEnv(process.env);
  } catch (err) {
    if (err instanceof OptionsError) {
      process.stderr.write(`dragon-pbx: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { options, warnings } = parsed;
  const logger = createLogger({ level: options.logLevel });
  for (const w of warnings) logger.warn({}, w);

  // SPEC §8: no unhandled promise rejections. Anything that still slips through is logged, counted, and survived.
  process.on('unhandledRejection', (reason) => logger.error({ err: String(reason) }, 'unhandled rejection'));

  const pbx = createPbx({ ...options, logger });
  let exiting = false;
  const stop = (signal: string) => {
    if (exiting) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    exiting = true;
    logger.info({ signal }, 'stopping');
    pbx.stop({ drainMs: SHUTDOWN_DRAIN_MS }).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err: String(err) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void pbx.reload());
  pbx.onStopped(() => {
    if (!exiting) process.exit(0);
  });

  try {
    const addresses = await pbx.start();
    logger.info({ version: VERSION, options: redactOptions(options), ...addresses }, 'dragon-pbx started');
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'dragon-pbx could not start');
    // Let pino flush before leaving.
    setTimeout(() => process.exit(1), 100);
  }
}

void main();
