/**
 * The fault suite (npm run test:faults): real stack, real kills. Each file's cases run
 * concurrently (they mostly wait on timeouts: heartbeat, retry backoff, outages), files in
 * parallel workers; the global teardown prints the closing table.
 */
const base = require('./jest.base.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/faults'],
  globalSetup: '<rootDir>/test/faults/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/faults/support/global-teardown.ts',
  testTimeout: 14 * 60 * 1000,
  maxWorkers: 5,
  maxConcurrency: 7,
};
