export { releaseDb } from './release-db';
export { rollbackRelease } from './rollback-release';
export { stripeSetup } from './stripe-setup';
