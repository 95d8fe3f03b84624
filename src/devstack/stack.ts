/**
 * The embedded default stack: a Temporal dev server, a database on the local Postgres, a copy of
 * the sample backend and a Stripe peer on loopback. The demo, the end-to-end tests and the
 * benchmark all start it the same way.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { adminUrl, createDatabase, dropDatabase, ensureDatabase } from './postgres';
import { prepareSampleBackend } from './sample-backend';
import { prepareStarterBackend, type StarterBackendOptions } from './starter-monorepo';
import { startStripePeer, type StripePeer } from '../../dev/stripe-peer';
import { addressOf, startDevServer, type DevServerOptions } from './temporal';

/** Test-mode credentials of the loopback Stripe peer; not secrets anywhere else. */
export const PEER_SECRET_KEY = 'sk_test_dbrelease_local_peer_4f7a';
export const PEER_WEBHOOK_SECRET = 'whsec_dbrelease_local_peer_9c2e';
/** The password the sample backend's .env.compose puts into DATABASE_URL. */
export const SAMPLE_DB_PASSWORD = 'devpassword';

/** Which sample backend the stack copies: the tidy single-app one, or the monorepo (examples/). */
export type SampleName = 'saas-backend' | 'starter-monorepo';

/** What only the monorepo sample takes; see StarterBackendOptions. */
export type StarterSampleOptions = Pick<
  StarterBackendOptions,
  'billing' | 'priceMap' | 'extraEnv' | 'configPatch' | 'withoutVenv'
>;

export interface StackOptions {
  name: string;
  /**
   * Where the sample copy goes. For `starter-monorepo` this is the copy's repository root and the
   * stack's `backendDir` is its `apps/api-service`.
   */
  backendDir: string;
  /** Default 'saas-backend'. */
  sample?: SampleName;
  starter?: StarterSampleOptions;
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
  /** The project root for the release tool (for the monorepo: apps/api-service). */
  backendDir: string;
  /** The copy's repository root; the same as backendDir for the single-app sample. */
  sampleRoot: string;
  sample: SampleName;
  databaseName: string;
  databaseUrl: string;
  close(options?: { dropDatabase?: boolean }): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<DevStack> {
  const databaseName = options.name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const databaseUrl = options.keepDatabase
    ? await ensureDatabase(databaseName)
    : await createDatabase(databaseName);
  const stripe = await startStripePeer({
    port: options.stripe?.port ?? 0,
    stateFile: options.stripe?.stateFile,
    apiKeys: [PEER_SECRET_KEY],
  });
  let temporalEnv: TestWorkflowEnvironment | null = null;
  let temporalAddress: string;
  const sample = options.sample ?? 'saas-backend';
  let backendDir = options.backendDir;
  try {
    if (options.temporal && 'address' in options.temporal) {
      temporalAddress = options.temporal.address;
    } else {
      temporalEnv = await startDevServer(options.temporal);
      temporalAddress = addressOf(temporalEnv);
    }
    const common = {
      dir: options.backendDir,
      databaseName,
      serverUrl: adminUrl(),
      stripeApiBase: stripe.url,
      stripeSecretKey: PEER_SECRET_KEY,
      stripeWebhookSecret: PEER_WEBHOOK_SECRET,
      environment: options.environment,
    };
    if (sample === 'starter-monorepo') {
      backendDir = (await prepareStarterBackend({ ...common, ...options.starter })).backendDir;
    } else {
      await prepareSampleBackend(common);
    }
  } catch (error) {
    await stripe.close();
    await temporalEnv?.teardown();
    throw error;
  }
  return {
    temporalAddress,
    temporalEnv,
    stripe,
    backendDir,
    sampleRoot: options.backendDir,
    sample,
    databaseName,
    databaseUrl,
    async close(closeOptions = {}) {
      await stripe.close();
      await temporalEnv?.teardown();
      if (closeOptions.dropDatabase ?? !options.keepDatabase) await dropDatabase(databaseName);
    },
  };
}
