export { releaseDb } from './release-db';
export { stripeSetup } from './stripe-setup';
