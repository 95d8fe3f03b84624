/** The Stripe peer's entry point for code: start one, inspect its state, inject faults. */
export { startStripePeer } from './server';
export * from './types';
