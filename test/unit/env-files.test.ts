import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  billingOffReason,
  billingSwitch,
  ENV_FILES_BY_PRECEDENCE,
  EnvFileError,
  expandPlaceholders,
  loadEnvScope,
  mergeEnvLayers,
  parseBillingFlag,
  parseDotenv,
} from '../../src/config/env-files';
import { removeTempDirs, tempDir } from '../support/fakes';

afterAll(removeTempDirs);

function projectWith(files: Record<string, string>): string {
  const root = tempDir('env-files-');
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, name), text);
  return root;
}

describe('loadEnvScope precedence', () => {
  test('.env.local > .env > .env.compose > process env', async () => {
    const root = projectWith({
      '.env.local': 'ALL=local\nLOCAL_AND_ENV=local\n',
      '.env': 'ALL=env\nLOCAL_AND_ENV=env\nENV_AND_COMPOSE=env\n',
      '.env.compose': 'ALL=compose\nENV_AND_COMPOSE=compose\nCOMPOSE_AND_PROCESS=compose\n',
    });
    const scope = await loadEnvScope(root, {
      ALL: 'process',
      COMPOSE_AND_PROCESS: 'process',
      ONLY_PROCESS: 'process',
      UNSET: undefined,
    });
    expect(scope.values).toMatchObject({
      ALL: 'local',
      LOCAL_AND_ENV: 'local',
      ENV_AND_COMPOSE: 'env',
      COMPOSE_AND_PROCESS: 'compose',
      ONLY_PROCESS: 'process',
    });
    expect(scope.sources).toMatchObject({
      ALL: '.env.local',
      LOCAL_AND_ENV: '.env.local',
      ENV_AND_COMPOSE: '.env',
      COMPOSE_AND_PROCESS: '.env.compose',
      ONLY_PROCESS: 'process',
    });
    expect('UNSET' in scope.values).toBe(false);
    expect(scope.filesFound).toEqual(['.env.local', '.env', '.env.compose']);
  });

  test('missing files are skipped and listed as not found', async () => {
    const root = projectWith({ '.env.compose': 'A=compose\n' });
    const scope = await loadEnvScope(root, { A: 'process', B: 'process' });
    expect(scope.filesFound).toEqual(['.env.compose']);
    expect(scope.values.A).toBe('compose');
    expect(scope.values.B).toBe('process');
  });

  test('with no env files the scope is the process env', async () => {
    const root = projectWith({});
    const scope = await loadEnvScope(root, { A: '1' });
    expect(scope).toEqual({ values: { A: '1' }, sources: { A: 'process' }, filesFound: [] });
  });

  test('the documented precedence list', () => {
    expect([...ENV_FILES_BY_PRECEDENCE]).toEqual(['.env.local', '.env', '.env.compose']);
  });
});

describe('DATABASE_URL placeholders', () => {
  test('${VAR} inside DATABASE_URL expands from the merged scope (highest precedence value)', async () => {
    const root = projectWith({
      '.env.compose': 'POSTGRES_PASSWORD=composepw\nPOSTGRES_DB=app\n',
      '.env.local':
        'POSTGRES_PASSWORD=localpw\nDATABASE_URL=postgresql+psycopg://app:${POSTGRES_PASSWORD}@${DB_HOST}:5432/${POSTGRES_DB}\n',
    });
    const scope = await loadEnvScope(root, { DB_HOST: 'db.internal' });
    expect(scope.values.DATABASE_URL).toBe('postgresql+psycopg://app:localpw@db.internal:5432/app');
  });

  test('a DATABASE_URL from the process env is expanded with values from the files', async () => {
    const root = projectWith({ '.env': 'POSTGRES_PASSWORD=filepw\n' });
    const scope = await loadEnvScope(root, { DATABASE_URL: 'postgresql://app:${POSTGRES_PASSWORD}@db/app' });
    expect(scope.values.DATABASE_URL).toBe('postgresql://app:filepw@db/app');
  });

  test('other variables keep their placeholders literally', async () => {
    const root = projectWith({ '.env.local': 'A=1\nOTHER_URL=http://${A}/x\n' });
    const scope = await loadEnvScope(root, {});
    expect(scope.values.OTHER_URL).toBe('http://${A}/x');
  });

  test('${VAR} expands from the scope; unknown names expand to the empty string', () => {
    expect(expandPlaceholders('a${MISSING}b${X}-c', { X: 'x' })).toBe('abx-c');
  });

  test('mergeEnvLayers applies files lowest precedence first', () => {
    const merged = mergeEnvLayers({ K: 'p' }, [
      { name: '.env.local', values: { K: 'l' } },
      { name: '.env', values: { K: 'e' } },
    ]);
    expect(merged.values.K).toBe('l');
    expect(merged.sources.K).toBe('.env.local');
  });
});

describe('parseDotenv', () => {
  test('plain values, export prefix, spaces around =', () => {
    expect(parseDotenv('A=1\nexport B=two\nC = three\n')).toEqual({ A: '1', B: 'two', C: 'three' });
  });

  test('comment lines, blank lines and lines without = are skipped', () => {
    expect(parseDotenv('# comment\n\n   \n  # indented comment\nnot a pair\nA=1\n')).toEqual({ A: '1' });
  });

  test('inline comments after whitespace are cut from unquoted values; # inside a value is kept', () => {
    expect(parseDotenv('A=value # comment\nB=val#ue\n')).toEqual({ A: 'value', B: 'val#ue' });
  });

  test('double quotes: spaces and # kept, \\n and \\" unescaped', () => {
    expect(parseDotenv('A="hello world # not a comment"\nB="line1\\nline2"\nC="say \\"hi\\""\n')).toEqual({
      A: 'hello world # not a comment',
      B: 'line1\nline2',
      C: 'say "hi"',
    });
  });

  test('single quotes keep the content literally', () => {
    expect(parseDotenv("A='x # y'\nB='a\\nb'\n")).toEqual({ A: 'x # y', B: 'a\\nb' });
  });

  test('empty values and compact JSON values', () => {
    expect(parseDotenv('EMPTY=\nQUOTED_EMPTY=""\nMAP={"starter":"price_1","pro":"price_2"}\n')).toEqual({
      EMPTY: '',
      QUOTED_EMPTY: '',
      MAP: '{"starter":"price_1","pro":"price_2"}',
    });
  });

  test('CRLF files parse like LF files', () => {
    expect(parseDotenv('A=1\r\nB="two"\r\n# c\r\n')).toEqual({ A: '1', B: 'two' });
  });

  test('a later duplicate wins', () => {
    expect(parseDotenv('A=1\nA=2\n')).toEqual({ A: '2' });
  });

  test('a comment after a closing quote is not part of the value', () => {
    expect(parseDotenv('A="x y" # note\nB=\'z\'  # note\n')).toEqual({ A: 'x y', B: 'z' });
  });

  test.each([
    ['DATABASE_URL="postgresql://app@db/app\n', 'double'],
    ["STRIPE_SECRET_KEY='sk_test_x\n", 'single'],
    ['A="ends with an escaped quote\\"\n', 'double'],
  ])('an unterminated quote is an EnvFileError naming the file, the line and the key (%p)', (text, kind) => {
    let caught: unknown;
    try {
      parseDotenv(`# header\n\nOK=1\n${text}LATER="fine"\n`, '.env.local');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnvFileError);
    const error = caught as EnvFileError;
    expect(error.type).toBe('EnvFileError');
    expect(error.file).toBe('.env.local');
    expect(error.line).toBe(4);
    expect(error.message).toMatch(
      new RegExp(
        `^\\.env\\.local:4: [A-Z_]+: the value opens a ${kind} quote that is never closed; close the quote`,
      ),
    );
    // the value (possibly a secret) is never echoed
    expect(error.message).not.toContain('sk_test_x');
    expect(error.message).not.toContain('postgresql://');
  });
});

describe('configured env files', () => {
  test('files are read in the configured order, may leave the project root, and are named as configured', async () => {
    const repo = tempDir('env-files-repo-');
    const backend = path.join(repo, 'apps', 'api-service');
    mkdirSync(backend, { recursive: true });
    writeFileSync(
      path.join(repo, '.env.compose'),
      'POSTGRES_PASSWORD=composepw\nSHARED=compose\nONLY_COMPOSE=1\n',
    );
    writeFileSync(
      path.join(backend, '.env.local'),
      'SHARED=local\nDATABASE_URL=postgresql://app:${POSTGRES_PASSWORD}@db/app\n',
    );
    const scope = await loadEnvScope(backend, { SHARED: 'process' }, ['.env.local', '../../.env.compose']);
    expect(scope.filesFound).toEqual(['.env.local', '../../.env.compose']);
    expect(scope.values).toMatchObject({
      SHARED: 'local',
      ONLY_COMPOSE: '1',
      DATABASE_URL: 'postgresql://app:composepw@db/app',
    });
    expect(scope.sources).toMatchObject({
      SHARED: '.env.local',
      ONLY_COMPOSE: '../../.env.compose',
      POSTGRES_PASSWORD: '../../.env.compose',
    });
  });

  test('the configured order is the precedence, whatever the names', async () => {
    const root = projectWith({ 'a.env': 'K=a\n', 'b.env': 'K=b\nOTHER=b\n' });
    const scope = await loadEnvScope(root, {}, ['b.env', 'a.env']);
    expect(scope.values).toMatchObject({ K: 'b', OTHER: 'b' });
    expect(scope.sources.K).toBe('b.env');
  });

  test("without a list, the project's release.config.json envFiles are read (every reader gets the configured list)", async () => {
    const repo = tempDir('env-files-configured-');
    const backend = path.join(repo, 'apps', 'api');
    mkdirSync(backend, { recursive: true });
    writeFileSync(path.join(repo, '.env.compose'), 'FROM_ROOT=1\n');
    writeFileSync(path.join(backend, '.env.compose'), 'FROM_BACKEND=1\n');
    writeFileSync(
      path.join(backend, 'release.config.json'),
      JSON.stringify({ envFiles: ['../../.env.compose'] }),
    );
    const scope = await loadEnvScope(backend, {});
    expect(scope.filesFound).toEqual(['../../.env.compose']);
    expect(scope.values).toEqual({ FROM_ROOT: '1' });
  });

  test('without a list and with an invalid release.config.json, the default list is read (the config reader reports the config)', async () => {
    const root = projectWith({ '.env': 'A=1\n', 'release.config.json': '{ not json' });
    expect((await loadEnvScope(root, {})).filesFound).toEqual(['.env']);
  });

  test('the default list does not read files it does not name', async () => {
    const root = projectWith({ '.env.production': 'K=prod\n', '.env': 'K=env\n' });
    const scope = await loadEnvScope(root, {});
    expect(scope.values.K).toBe('env');
    expect(scope.filesFound).toEqual(['.env']);
  });

  test('an env file that is a directory is an EnvFileError naming it, not EISDIR', async () => {
    const root = projectWith({ '.env': 'A=1\n' });
    mkdirSync(path.join(root, '.env.local'));
    await expect(loadEnvScope(root, {})).rejects.toMatchObject({
      type: 'EnvFileError',
      file: '.env.local',
      line: null,
      message: expect.stringMatching(
        /^\.env\.local: is a directory, not an env file; remove the directory or list a file in release\.config\.json "envFiles"$/,
      ),
    });
  });

  test('an unterminated quote in a configured file fails the load with file and line', async () => {
    const root = projectWith({ 'custom.env': 'A=1\nB="open\n' });
    await expect(loadEnvScope(root, {}, ['custom.env'])).rejects.toMatchObject({
      type: 'EnvFileError',
      file: 'custom.env',
      line: 2,
    });
  });
});

describe('parseBillingFlag (ENABLE_BILLING, strict)', () => {
  test.each(['1', 'true', 'TRUE', 'True', 'yes', 'YES', 'on', 'On', ' true ', 'yes\n'])(
    '%p is true',
    (value) => {
      expect(parseBillingFlag(value)).toBe(true);
    },
  );

  test.each([undefined, '', '  ', '0', 'false', 'FALSE', 'no', 'No', 'off', ' OFF '])(
    '%p is false',
    (value) => {
      expect(parseBillingFlag(value)).toBe(false);
    },
  );

  // The original read all of these as false: a typo silently released without billing.
  test.each(['maybe', 'y', 't', 'enabled', '2', 'truthy', 'ture', 'true false', '"true"'])(
    '%p is neither (null)',
    (value) => {
      expect(parseBillingFlag(value)).toBeNull();
    },
  );
});

describe('billingSwitch', () => {
  test('names the value, the file it came from and the allowed values when it is neither', () => {
    const result = billingSwitch({
      values: { ENABLE_BILLING: 'maybe' },
      sources: { ENABLE_BILLING: '.env.local' },
    });
    expect(result).toEqual({
      error: expect.stringContaining('ENABLE_BILLING="maybe" in .env.local is neither true nor false'),
    });
    expect((result as { error: string }).error).toMatch(/1\/true\/yes\/on .*0\/false\/no\/off/);
  });

  test('a value from the process environment says so', () => {
    const result = billingSwitch({
      values: { ENABLE_BILLING: 'maybe' },
      sources: { ENABLE_BILLING: 'process' },
    });
    expect((result as { error: string }).error).toContain('in the process environment');
  });

  test('on and off keep the raw value and its file for the skip reason', () => {
    expect(billingSwitch({ values: { ENABLE_BILLING: 'Yes' }, sources: { ENABLE_BILLING: '.env' } })).toEqual(
      { enabled: true, raw: 'Yes', source: '.env' },
    );
    const off = billingSwitch({
      values: { ENABLE_BILLING: 'false' },
      sources: { ENABLE_BILLING: '.env.local' },
    });
    expect(off).toEqual({ enabled: false, raw: 'false', source: '.env.local' });
    expect(billingOffReason(off as { raw: string; source: string })).toBe(
      'ENABLE_BILLING=false in .env.local',
    );
  });

  test('unset is off, and the reason says it is not set', () => {
    const off = billingSwitch({ values: {}, sources: {} });
    expect(off).toEqual({ enabled: false, raw: null, source: null });
    expect(billingOffReason(off as { raw: null; source: null })).toBe(
      'ENABLE_BILLING is not set (billing off)',
    );
  });
});
