// ava config of `npm run test:reliability`: hostile and heavy traffic against a real velo
// process (test/reliability/). Kept out of `npm test`; see docs/reliability.md.
export default {
  files: ['test/reliability/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  // One file at a time: each measures a velo process's fds, RSS and throughput, and the
  // machine has 2 cores; two heavy files at once would measure each other.
  concurrency: 1,
  timeout: '5m',
};
