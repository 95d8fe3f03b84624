import type { EnvScope } from '../config/env-files';
import type { ReleaseConfig } from '../config/release-config';
import type { CommandRunner } from '../runtime/command-runner';
import type { StripeGateway } from './stripe-gateway';

/** The little of `pg` the activities use, so unit tests can pass a fake. */
export interface DbClient {
  query<R extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
  end(): Promise<void>;
}

/** Everything an activity touches outside its own arguments. The worker passes real ones, tests fakes. */
export interface ActivityDeps {
  /** The backend checkout this worker releases. */
  projectRoot: string;
  /** Reads the backend's env files afresh: secrets are read when needed, never passed in. */
  loadEnv: () => Promise<EnvScope>;
  loadConfig: () => Promise<ReleaseConfig>;
  run: CommandRunner;
  connectDb: (databaseUrl: string) => Promise<DbClient>;
  stripe: (secretKey: string, env: EnvScope) => StripeGateway;
  /** Worker-local folder for journals that make retried activities idempotent. */
  stateDir: string;
  /** The worker's `--environment` flag, when given; it must agree with the env files' ENVIRONMENT/APP_ENV. */
  environment?: string;
}
