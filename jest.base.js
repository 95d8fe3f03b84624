/**
 * What every Jest tier shares (unit, workflow, e2e in jest.config.js; the fault suite in
 * jest.faults.config.js): the TypeScript transform and ESM-only packages turned into CommonJS.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  transform: {
    '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // execa, @inquirer/password (the hidden prompt) and their helpers ship only as ES modules; let swc turn
  // them into CommonJS for Jest.
  transformIgnorePatterns: [
    '/node_modules/(?!(execa|@sec-ant|@sindresorhus|figures|get-stream|human-signals|is-plain-obj|is-stream|is-unicode-supported|npm-run-path|parse-ms|path-key|pretty-ms|strip-final-newline|unicorn-magic|yoctocolors|@inquirer|fast-wrap-ansi|fast-string-width|fast-string-truncated-width)/)',
  ],
  // unicorn-magic exports only an 'import' condition, which Jest's CommonJS resolver skips.
  moduleNameMapper: { '^unicorn-magic$': '<rootDir>/node_modules/unicorn-magic/node.js' },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};
