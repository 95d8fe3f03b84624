/**
 * The CLI's shared input parsing (src/cli/input.ts): one rule for an environment name, whichever
 * command reads it, and the worker's own wording of an env file that does not parse.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { prepareRelease } from '../../src/cli/commands/release-db';
import { workerCommand } from '../../src/cli/commands/worker';
import { environmentName, readBackendEnv } from '../../src/cli/input';
import { statusSummaryCommand } from '../../src/cli/status-summary';
import { removeTempDirs, tempDir } from '../support/fakes';

afterAll(removeTempDirs);

async function errorOf(promise: Promise<unknown>): Promise<{ message: string; exitCode: unknown }> {
  try {
    await promise;
  } catch (error) {
    return { message: (error as Error).message, exitCode: (error as { exitCode?: unknown }).exitCode };
  }
  throw new Error('expected a refusal, but it succeeded');
}

describe('an environment name', () => {
  test.each(['prod uction', '-prod', 'prod.eu', `p${'x'.repeat(63)}`])(
    '%j is refused alike by release db, the worker and status summary (exit 2)',
    async (name) => {
      const dir = tempDir();
      const noLog = () => undefined;
      const release = await errorOf(prepareRelease({ projectRoot: dir, environment: name }, {}));
      const worker = await errorOf(
        workerCommand({ projectRoot: dir, environment: name, address: '127.0.0.1:1' }, noLog),
      );
      const status = await errorOf(
        statusSummaryCommand({ projectRoot: dir, environment: name }, { stdout: noLog }),
      );
      const rule = `--environment "${name}": use letters, digits, - and _`;
      expect(worker).toEqual({ message: rule, exitCode: 2 });
      expect(status).toEqual({ message: rule, exitCode: 2 });
      expect(release).toEqual({ message: `${rule} (it names the workflow id)`, exitCode: 2 });
    },
  );

  test.each(['production', 'staging-eu', 'pr_42', `p${'x'.repeat(62)}`])('%j is accepted', (name) => {
    expect(environmentName(name)).toBe(name);
  });
});

describe('an env file that does not parse', () => {
  test('is named by its path and line, or under the project root as the worker says it', async () => {
    const dir = tempDir();
    await writeFile(path.join(dir, '.env.local'), 'STRIPE_SECRET_KEY="sk_test_unterminated\n');
    const plain = await errorOf(readBackendEnv(dir, {}));
    const worker = await errorOf(
      readBackendEnv(dir, {}, { files: ['.env.local'], parseErrorStyle: 'under-project-root' }),
    );
    expect(plain.message).toMatch(
      new RegExp(`^env file ${path.join(dir, '.env.local')} line 1: STRIPE_SECRET_KEY: `),
    );
    expect(worker.message).toMatch(new RegExp(`^${dir}: \\.env\\.local:1: STRIPE_SECRET_KEY: `));
    for (const e of [plain, worker]) {
      expect(e.exitCode).toBe(2);
      expect(e.message).not.toContain('sk_test_unterminated');
    }
  });
});
