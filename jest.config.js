/**
 * Three tiers, each runnable alone (npm run test:unit / test:workflow / test:e2e; npm test runs
 * all three):
 * - unit: mocked dependencies, no server (no Temporal, no PostgreSQL): seconds.
 * - workflow: workflows on a real Temporal dev server with recorded or mocked activities.
 * - e2e: the built CLI against the real stack (Temporal, PostgreSQL, Alembic, the Stripe peer).
 * Only the workflow and e2e tiers start the Temporal dev server (their global setup; Jest runs a
 * project's global setup only when one of its tests is selected, and the second start is a no-op).
 * The fault suite kills real processes and takes minutes: it runs on its own (npm run test:faults).
 */
const base = require('./jest.base.js');

const withTemporal = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 120000,
  projects: [
    { ...base, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    { ...base, ...withTemporal, displayName: 'workflow', roots: ['<rootDir>/test/workflow'] },
    { ...base, ...withTemporal, displayName: 'e2e', roots: ['<rootDir>/test/e2e'] },
  ],
};
