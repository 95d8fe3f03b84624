/**
 * Issue 14's error paths at the edge of the CLI, without Temporal: empty flags named with their
 * fix, the one-line unexpected error, backend input (release.config.json, env files, env values)
 * refused with the file and the fix and never the secret, and `release list --status` choices.
 */
import { Command, Option } from 'commander';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkDatabaseUrl, checkStripeSecrets, readBackendConfig, readBackendEnv } from '../../src/cli/input';
import { requireNoBlankValues, unexpectedErrorLines } from '../../src/cli/program';
import { checkListFilter, RELEASE_LIST_STATUSES } from '../../src/cli/search-attributes';
import type { EnvScope } from '../../src/config/env-files';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'db-release-cli-errors-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Parses `argv` with a command shaped like the CLI's and returns the blank-value error, if any. */
function blankError(argv: string[], env: Record<string, string> = {}): string | null {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const command = new Command('reject')
      .exitOverride()
      .argument('<id-or-environment>')
      .requiredOption('--reason <text>', 'why (required)')
      .addOption(new Option('--task-queue <name>', 'task queue of the worker').env('DB_RELEASE_TASK_QUEUE'))
      .option('--plan <code=cents>', 'plan amount', (v: string, prev: string[] = []) => [...prev, v])
      .action(() => undefined);
    command.parse(argv, { from: 'user' });
    requireNoBlankValues(command, command.args);
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    process.env = saved;
  }
}

describe('empty flags and arguments are bad input naming the flag', () => {
  test('a required flag given empty or blank names it, and says to give a value', () => {
    expect(blankError(['prod', '--reason', ''])).toBe(
      '--reason is empty (it takes: why (required)): give a value',
    );
    expect(blankError(['prod', '--reason', ' \t'])).toBe(
      '--reason is empty (it takes: why (required)): give a value',
    );
  });

  test('an optional flag may also be left out', () => {
    expect(blankError(['prod', '--reason', 'x', '--task-queue', ''])).toBe(
      '--task-queue is empty (it takes: task queue of the worker): give a value or leave the flag out',
    );
  });

  test('a repeatable flag with one empty value', () => {
    expect(blankError(['prod', '--reason', 'x', '--plan', 'pro=1', '--plan', ''])).toMatch(
      /^--plan is empty/,
    );
  });

  test('an empty value from the environment names the variable', () => {
    expect(blankError(['prod', '--reason', 'x'], { DB_RELEASE_TASK_QUEUE: '' })).toBe(
      'DB_RELEASE_TASK_QUEUE is set but empty (it stands for --task-queue): give it a value or unset it',
    );
  });

  test('an empty positional argument', () => {
    expect(blankError([' ', '--reason', 'x'])).toBe(
      '<id-or-environment> is empty: give id or environment, e.g. production',
    );
  });

  test("a person's name is left to identityFlag, whose message also covers invisible characters", () => {
    const command = new Command('approve')
      .exitOverride()
      .option('--approver <name>', 'who approves')
      .action(() => undefined);
    command.parse(['--approver', ''], { from: 'user' });
    expect(() => requireNoBlankValues(command)).not.toThrow();
  });

  test('values given are left alone', () => {
    expect(
      blankError(['prod', '--reason', 'wrong window', '--task-queue', 'q', '--plan', 'pro=1']),
    ).toBeNull();
  });
});

describe('an error nobody foresaw', () => {
  test('is one line plus where to find the stack', () => {
    const error = new TypeError(
      'Cannot read properties of undefined (reading "x")\n    at somewhere (file.js:1:1)',
    );
    expect(unexpectedErrorLines(error, {})).toEqual([
      'db-release: unexpected error: TypeError: Cannot read properties of undefined (reading "x")',
      'db-release: run with DB_RELEASE_DEBUG=1 for the stack',
    ]);
  });

  test('DB_RELEASE_DEBUG=1 prints the stack', () => {
    const error = new Error('boom');
    const [line] = unexpectedErrorLines(error, { DB_RELEASE_DEBUG: '1' });
    expect(line).toContain('boom');
    expect(line).toMatch(/\n\s+at /);
  });
});

describe('backend input', () => {
  test('release.config.json that is a directory: names the file, exit 2', async () => {
    await mkdir(path.join(dir, 'release.config.json'));
    await expect(readBackendConfig(dir)).rejects.toMatchObject({
      name: 'CliError',
      exitCode: 2,
      message: expect.stringMatching(/release\.config\.json.*directory/) as unknown,
    });
  });

  test('release.config.json that is not JSON: the ConfigError message, exit 2', async () => {
    await writeFile(path.join(dir, 'release.config.json'), '{');
    await expect(readBackendConfig(dir)).rejects.toMatchObject({
      name: 'CliError',
      exitCode: 2,
      message: expect.stringMatching(/not valid JSON/) as unknown,
    });
  });

  test('.env.local that is a directory, or with an unterminated quote: names the file (and line), exit 2', async () => {
    await mkdir(path.join(dir, '.env.local'));
    await expect(readBackendEnv(dir, {})).rejects.toMatchObject({
      name: 'CliError',
      exitCode: 2,
      message: expect.stringContaining(
        `env file ${path.join(dir, '.env.local')}: is a directory, not an env file`,
      ) as unknown,
    });
    await rm(path.join(dir, '.env.local'), { recursive: true });
    await writeFile(path.join(dir, '.env.local'), "A=1\nSTRIPE_SECRET_KEY='sk_test_unterminated123456\n");
    const error = await readBackendEnv(dir, {}).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'CliError', exitCode: 2 });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^env file ${path.join(dir, '.env.local')} line 2: STRIPE_SECRET_KEY: the value opens a single quote that is never closed`,
      ),
    );
    expect((error as Error).message).not.toContain('sk_test_unterminated');
  });

  const scope = (values: Record<string, string>, source = '.env.local'): EnvScope => ({
    values,
    sources: Object.fromEntries(Object.keys(values).map((k) => [k, source])),
    filesFound: [source],
  });

  test.each([
    ['not a url', /is not a URL/],
    ['', /is empty/],
    ['mysql://u:hunter2pw@db/app', /is a mysql URL, not a PostgreSQL one/],
    ['http://u:hunter2pw@db/app', /is a http URL/],
  ])('DATABASE_URL=%j is refused naming the file, never the value', (value, why) => {
    let message = '';
    try {
      checkDatabaseUrl(scope({ DATABASE_URL: value }), '/srv/api');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(why);
    expect(message).toMatch(
      /^DATABASE_URL \(from \/srv\/api\/\.env\.local\) .*; write it as postgresql:\/\/USER:PASSWORD@HOST:5432\/DBNAME$/,
    );
    if (value) expect(message).not.toContain(value);
  });

  test.each([
    'postgresql://u:p@127.0.0.1:5432/app',
    'postgres://u@db/app',
    'postgresql:///app?host=/var/run/postgresql',
    'postgresql+asyncpg://u:p@db:5432/app',
    'postgresql+psycopg://u:p@db/app',
  ])('DATABASE_URL=%s is accepted (SQLAlchemy driver suffixes too)', (value) => {
    expect(() => checkDatabaseUrl(scope({ DATABASE_URL: value }), '/srv/api')).not.toThrow();
  });

  test('DATABASE_URL from the process environment says so', () => {
    expect(() => checkDatabaseUrl(scope({ DATABASE_URL: 'nope' }, 'process'), '/srv/api')).toThrow(
      /^DATABASE_URL \(from the environment of this process\) is not a URL/,
    );
  });

  test('a publishable key as STRIPE_SECRET_KEY: the variable, the file and the fix, the key masked out', () => {
    const key = 'pk_live_51PublishableKeyNeverPrinted';
    let message = '';
    try {
      checkStripeSecrets(scope({ STRIPE_SECRET_KEY: key }), '/srv/api');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /^STRIPE_SECRET_KEY \(from \/srv\/api\/\.env\.local\): this is a publishable key \(pk_…\).*; fix it in \/srv\/api\/\.env\.local, or pass --skip-stripe$/,
    );
    expect(message).not.toContain(key);
  });

  test('well-formed or absent Stripe secrets pass', () => {
    expect(() =>
      checkStripeSecrets(
        scope({
          STRIPE_SECRET_KEY: 'sk_live_0123456789abcdef',
          STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
        }),
        '/srv/api',
      ),
    ).not.toThrow();
    expect(() => checkStripeSecrets(scope({}), '/srv/api')).not.toThrow();
  });
});

describe('release list --status', () => {
  test('an unknown status names the allowed values', () => {
    expect(() => checkListFilter({ status: 'bogus' })).toThrow(
      `--status "bogus": not a release status; use one of ${RELEASE_LIST_STATUSES.join(', ')}`,
    );
    expect(RELEASE_LIST_STATUSES).toEqual(
      expect.arrayContaining(['awaiting_approval', 'success', 'rolled_back', 'rollback_failed']),
    );
  });

  test('every indexed status is accepted', () => {
    for (const status of RELEASE_LIST_STATUSES) expect(() => checkListFilter({ status })).not.toThrow();
  });
});
