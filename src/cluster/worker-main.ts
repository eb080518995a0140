/**
 * The program a forked worker runs (cluster/primary.ts forks this file): the data plane only.
 * It loads no CLI, no dashboard and no admin code.
 */
import { runWorker } from './worker.js';

runWorker().catch((err: unknown) => {
  process.stderr.write(`velo worker ${process.pid}: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
