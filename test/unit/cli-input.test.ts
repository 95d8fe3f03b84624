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

describe('an environment name', () => {
  test.each(['prod uction', '-prod', 'prod.eu', `p${'x'.repeat(63)}`])(
    '%j is refused alike by release db, the worker and status summary (exit 2)',
    async (name) => {
      const dir = tempDir();
      const noLog = () => undefined;
      const rule = `--environment "${name}": use letters, digits, - and _`;
      await expect(
        workerCommand({ projectRoot: dir, environment: name, address: '127.0.0.1:1' }, noLog),
      ).rejects.toMatchObject({
        message: rule,
        exitCode: 2,
      });
      await expect(
        statusSummaryCommand({ projectRoot: dir, environment: name }, { stdout: noLog }),
      ).rejects.toMatchObject({
        message: rule,
        exitCode: 2,
      });
      await expect(prepareRelease({ projectRoot: dir, environment: name }, {})).rejects.toMatchObject({
        message: `${rule} (it names the workflow id)`,
        exitCode: 2,
      });
    },
  );

  test.each(['production', 'staging-eu', 'pr_42', `p${'x'.repeat(62)}`])('%j is accepted', (name) => {
    expect(environmentName(name)).toBe(name);
  });
});

describe('an env file that does not parse', () => {
  test('is named by its path and line, or under the project root as the worker says it', async () => {
    const dir = tempDir();
    const secret = 'sk_test_unterminated';
    await writeFile(path.join(dir, '.env.local'), `STRIPE_SECRET_KEY="${secret}\n`);
    await expect(readBackendEnv(dir, {})).rejects.toMatchObject({
      message: expect.stringMatching(
        new RegExp(`^env file ${path.join(dir, '.env.local')} line 1: STRIPE_SECRET_KEY: (?!.*${secret})`),
      ),
      exitCode: 2,
    });
    await expect(
      readBackendEnv(dir, {}, { files: ['.env.local'], parseErrorStyle: 'under-project-root' }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(
        new RegExp(`^${dir}: \\.env\\.local:1: STRIPE_SECRET_KEY: (?!.*${secret})`),
      ),
      exitCode: 2,
    });
  });
});
