import { execFileSync } from 'node:child_process';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './paths';

export interface SampleBackendOptions {
  /** Where the copy goes; it is replaced. */
  dir: string;
  databaseName: string;
  /** Host part of the database URL, credentials included, e.g. postgresql://postgres@127.0.0.1:5432 */
  serverUrl: string;
  stripeApiBase: string;
  stripeSecretKey: string;
  stripeWebhookSecret: string;
  environment?: string;
}

export function sampleBackendSource(): string {
  return path.join(repoRoot(), 'examples', 'saas-backend');
}

/**
 * A fresh copy of the sample backend with its own `.env.local` and a git history, the way an
 * operator's checkout looks. The database URL keeps a `${POSTGRES_PASSWORD}` placeholder so
 * redaction of the password is exercised for real.
 */
export async function prepareSampleBackend(options: SampleBackendOptions): Promise<string> {
  await copySample(sampleBackendSource(), options.dir, /__pycache__|\.env\.local$/);
  await writeFile(path.join(options.dir, '.env.local'), [...devEnvLines(options), ''].join('\n'), {
    mode: 0o600,
  });
  commitAll(options.dir, 'sample backend');
  return options.dir;
}

/** Replaces `dir` with a copy of a sample, leaving out what `skip` matches (caches, env files, venvs). */
export async function copySample(source: string, dir: string, skip: RegExp): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await cp(source, dir, { recursive: true, filter: (src) => !skip.test(src) });
}

/** The `.env.local` lines of a dev-stack copy: this database (password left as a placeholder) and this Stripe peer. */
export function devEnvLines(
  options: Pick<
    SampleBackendOptions,
    'environment' | 'serverUrl' | 'databaseName' | 'stripeSecretKey' | 'stripeWebhookSecret' | 'stripeApiBase'
  >,
): string[] {
  const server = new URL(options.serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  return [
    '# written by the db-release dev stack',
    `ENVIRONMENT=${options.environment ?? 'local'}`,
    `DATABASE_URL=postgresql://${user}:\${POSTGRES_PASSWORD}@${server.host}/${options.databaseName}`,
    `STRIPE_SECRET_KEY=${options.stripeSecretKey}`,
    `STRIPE_WEBHOOK_SECRET=${options.stripeWebhookSecret}`,
    `STRIPE_API_BASE=${options.stripeApiBase}`,
  ];
}

/** A git history with one commit of everything, the way an operator's checkout has one. */
export function commitAll(dir: string, message: string): void {
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      stdio: 'ignore',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'db-release',
        GIT_AUTHOR_EMAIL: 'dev@localhost',
        GIT_COMMITTER_NAME: 'db-release',
        GIT_COMMITTER_EMAIL: 'dev@localhost',
      },
    });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', message);
}
