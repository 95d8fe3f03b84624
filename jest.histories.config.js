/** Records the replay histories (npm run histories:record): a dev server, like the workflow tier. */
const base = require('./jest.base.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/histories'],
  testMatch: ['**/record-histories.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120000,
};
