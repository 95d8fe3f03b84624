/**
 * The CLI's half of worker authority: it sends its view of the backend as claims, refuses an
 * unusable --summary-path before starting anything, maps the worker's refusals to exit 2 and 3
 * with the holder named, and the worker refuses to start when its flag and env files disagree.
 */
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prepareRelease, refusalLine, requireWritableSummaryPath } from '../../src/cli/commands/release-db';
import { workerCommand } from '../../src/cli/commands/worker';
import { workerEnvironment } from '../../src/config/release-config';
import { initialSummary, exitCodeForSummary } from '../../src/release/summary';
import type { ReleaseInput, ReleaseSummary } from '../../src/release/types';
import { removeTempDirs, tempDir } from '../support/fakes';

const savedTemporalEnv: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const key of Object.keys(process.env).filter((k) => k.startsWith('TEMPORAL_'))) {
    savedTemporalEnv[key] = process.env[key];
    delete process.env[key];
  }
});
afterAll(() => {
  for (const [key, value] of Object.entries(savedTemporalEnv))
    if (value !== undefined) process.env[key] = value;
  removeTempDirs();
});

function backend(envLocal = 'ENVIRONMENT=staging\nENABLE_BILLING=false\n'): string {
  const root = tempDir('authority-cli-');
  writeFileSync(path.join(root, '.env.local'), envLocal);
  return root;
}

async function errorOf(promise: Promise<unknown>): Promise<{ message: string; exitCode: unknown }> {
  try {
    await promise;
  } catch (error) {
    return { message: (error as Error).message, exitCode: (error as { exitCode?: unknown }).exitCode };
  }
  throw new Error('expected a refusal, but it succeeded');
}

describe('release db sends claims and checks the summary path first', () => {
  test('the input carries the catalog and billing the CLI saw, as claims', async () => {
    const root = backend();
    const prepared = await prepareRelease(
      { projectRoot: root, nonInteractive: true, operator: 'alice' },
      { PATH: '/usr/bin' },
    );
    expect(prepared.input.claims).toEqual({
      catalog: [
        { code: 'starter', name: 'Starter', amount: 2000 },
        { code: 'pro', name: 'Pro', amount: 9900 },
      ],
      billingEnabled: false,
    });
    expect(prepared.input.environment).toBe('staging');
  });

  test('a --summary-path that is a directory is refused with exit 2 naming it, and nothing is created', async () => {
    const root = backend();
    mkdirSync(path.join(root, 'reports'));
    const refused = await errorOf(
      prepareRelease(
        { projectRoot: root, nonInteractive: true, summaryPath: 'reports' },
        { PATH: '/usr/bin' },
      ),
    );
    expect(refused.exitCode).toBe(2);
    expect(refused.message).toMatch(/--summary-path ".*reports" is a directory; give a file path/);
    expect(readdirSync(root).sort()).toEqual(['.env.local', 'reports']);
  });

  test('a summary path under a file, or in a folder that cannot be written, is refused', async () => {
    const root = backend();
    const file = path.join(root, 'not-a-folder');
    writeFileSync(file, 'x');
    await expect(requireWritableSummaryPath(path.join(file, 'summary.json'), true)).rejects.toThrow(
      /is a file, not a folder/,
    );
    if (process.getuid?.() !== 0) {
      const locked = path.join(root, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      try {
        await expect(
          requireWritableSummaryPath(path.join(locked, 'deep', 'summary.json'), true),
        ).rejects.toThrow(/the folder .*locked is not writable/);
      } finally {
        chmodSync(locked, 0o700);
      }
    }
    // a folder that does not exist yet is fine (it is created when the summary is written), and stays absent
    await requireWritableSummaryPath(path.join(root, 'var', 'reports', 'x.json'), false);
    expect(readdirSync(root).includes('var')).toBe(false);
  });
});

describe("the worker's refusals become exit codes and a line naming the holder", () => {
  const input: ReleaseInput = {
    environment: 'staging',
    options: { non_interactive: true, skip_stripe: false, skip_db_checks: false, no_rollback: false },
    plans: [],
    currency: 'usd',
    trialDays: 14,
    startedBy: 'eve',
    approval: { required: false, approvers: [], fourEyes: false, timeout: '24 hours' },
  };
  const failed = (error: ReleaseSummary['error']): ReleaseSummary => ({
    ...initialSummary(input, { workflowId: 'w', runId: 'r' }, new Date(0)),
    status: 'failed',
    error,
  });

  test('TargetMismatch exits 2, TargetBusy exits 3, any other failure 1', () => {
    expect(exitCodeForSummary(failed({ step: 'preflight', type: 'TargetMismatch', message: 'm' }))).toBe(2);
    expect(exitCodeForSummary(failed({ step: 'preflight', type: 'TargetBusy', message: 'm' }))).toBe(3);
    expect(exitCodeForSummary(failed({ step: 'migrations', type: 'CommandFailed', message: 'm' }))).toBe(1);
    expect(exitCodeForSummary({ ...failed(null), status: 'success' })).toBe(0);
  });

  test('TargetBusy names the holder and the watch and cancel commands', () => {
    const holder = {
      workflowId: 'db-release-production',
      runId: 'run-9',
      environment: 'production',
      startedBy: 'alice',
      acquiredAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T00:30:00.000Z',
    };
    const line = refusalLine(failed({ step: 'preflight', type: 'TargetBusy', message: 'busy', holder }));
    expect(line).toBe(
      'refused (TargetBusy): release db-release-production (run run-9, environment production, started by alice at 2026-01-01T00:00:00.000Z) ' +
        "holds this target's database; nothing was changed. Watch it: db-release release watch db-release-production; " +
        'cancel it: db-release release cancel db-release-production',
    );
    expect(refusalLine(failed({ step: 'migrations', type: 'CommandFailed', message: 'x' }))).toBeNull();
  });
});

describe('the worker knows its environment', () => {
  test('from ENVIRONMENT, else APP_ENV, else the flag; a flag that disagrees names both', () => {
    expect(workerEnvironment({ ENVIRONMENT: 'production' }, undefined)).toEqual({
      environment: 'production',
      error: null,
    });
    expect(workerEnvironment({ APP_ENV: 'qa' }, undefined)).toEqual({ environment: 'qa', error: null });
    expect(workerEnvironment({}, 'staging-b')).toEqual({ environment: 'staging-b', error: null });
    expect(workerEnvironment({ ENVIRONMENT: 'production' }, 'production').environment).toBe('production');
    expect(workerEnvironment({ ENVIRONMENT: 'production' }, 'staging').error).toBe(
      'the worker\'s --environment "staging" disagrees with ENVIRONMENT=production in the backend env files; make them agree or drop the flag',
    );
    expect(workerEnvironment({}, undefined).error).toMatch(/cannot tell which environment it serves/);
  });

  test('db-release worker refuses to start (exit 2) before connecting when flag and env files disagree', async () => {
    const root = backend('ENVIRONMENT=production\n');
    const logs: string[] = [];
    // an address nothing listens on: the refusal must come before any connection attempt
    const refused = await errorOf(
      workerCommand({ projectRoot: root, environment: 'staging', address: '127.0.0.1:1' }, (l) =>
        logs.push(l),
      ),
    );
    expect(refused.exitCode).toBe(2);
    expect(refused.message).toContain('--environment "staging" disagrees with ENVIRONMENT=production');
    expect(logs).toEqual([]);
  });
});
