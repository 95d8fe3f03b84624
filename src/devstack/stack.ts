/**
 * The embedded default stack: a Temporal dev server, a database on the local Postgres, a copy of
 * the sample backend and a Stripe peer on loopback. The demo, the end-to-end tests and the
 * benchmark all start it the same way.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { adminUrl, createDatabase, dropDatabase, ensureDatabase } from './postgres';
import { prepareSampleBackend } from './sample-backend';
import { startStripePeer, type StripePeer } from '../../dev/stripe-peer';
import { addressOf, startDevServer, type DevServerOptions } from './temporal';

/** Test-mode credentials of the loopback Stripe peer; not secrets anywhere else. */
export const PEER_SECRET_KEY = 'sk_test_dbrelease_local_peer_4f7a';
export const PEER_WEBHOOK_SECRET = 'whsec_dbrelease_local_peer_9c2e';
/** The password the sample backend's .env.compose puts into DATABASE_URL. */
export const SAMPLE_DB_PASSWORD = 'devpassword';

export interface StackOptions {
  name: string;
  backendDir: string;
  /** Reuse the database if it exists (the demo) instead of creating it fresh (tests). */
  keepDatabase?: boolean;
  temporal?: DevServerOptions | { address: string };
  stripe?: { port?: number; stateFile?: string };
  environment?: string;
}

export interface DevStack {
  temporalAddress: string;
  temporalEnv: TestWorkflowEnvironment | null;
  stripe: StripePeer;
  backendDir: string;
  databaseName: string;
  databaseUrl: string;
  close(options?: { dropDatabase?: boolean }): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<DevStack> {
  const databaseName = options.name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const databaseUrl = options.keepDatabase ? await ensureDatabase(databaseName) : await createDatabase(databaseName);
  const stripe = await startStripePeer({
    port: options.stripe?.port ?? 0,
    stateFile: options.stripe?.stateFile,
    apiKeys: [PEER_SECRET_KEY],
  });
  let temporalEnv: TestWorkflowEnvironment | null = null;
  let temporalAddress: string;
  try {
    if (options.temporal && 'address' in options.temporal) {
      temporalAddress = options.temporal.address;
    } else {
      temporalEnv = await startDevServer(options.temporal);
      temporalAddress = addressOf(temporalEnv);
    }
    await prepareSampleBackend({
      dir: options.backendDir,
      databaseName,
      serverUrl: adminUrl(),
      stripeApiBase: stripe.url,
      stripeSecretKey: PEER_SECRET_KEY,
      stripeWebhookSecret: PEER_WEBHOOK_SECRET,
      environment: options.environment,
    });
  } catch (error) {
    await stripe.close();
    await temporalEnv?.teardown();
    throw error;
  }
  return {
    temporalAddress,
    temporalEnv,
    stripe,
    backendDir: options.backendDir,
    databaseName,
    databaseUrl,
    async close(closeOptions = {}) {
      await stripe.close();
      await temporalEnv?.teardown();
      if (closeOptions.dropDatabase ?? !options.keepDatabase) await dropDatabase(databaseName);
    },
  };
}
