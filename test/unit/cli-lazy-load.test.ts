/**
 * `db-release --help` and every command but `worker` must not load the worker SDK (its native
 * bridge and webpack) nor the activities: building the program and rendering every command's help
 * loads none of them. The modules are replaced by factories that record being loaded.
 */
import type * as WorkflowSdk from '@temporalio/workflow';
import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type * as Messages from '../../src/workflows/messages';

const src = path.join(__dirname, '..', '..', 'src');
const activitiesDir = path.join(src, 'activities');

function recordLoads(): string[] {
  const loaded: string[] = [];
  const record = (name: string) => () => {
    loaded.push(name);
    return {};
  };
  jest.doMock('@temporalio/worker', record('@temporalio/worker'));
  jest.doMock(path.join(src, 'worker'), record('src/worker'));
  for (const file of readdirSync(activitiesDir).filter((f) => f.endsWith('.ts'))) {
    jest.doMock(path.join(activitiesDir, file.replace(/\.ts$/, '')), record(`src/activities/${file}`));
  }
  return loaded;
}

function everyHelp(command: Command): string[] {
  return [command.helpInformation(), ...command.commands.flatMap(everyHelp)];
}

afterEach(() => jest.resetModules());

test('building the program and every help text loads neither the worker SDK nor the activities', () => {
  const loaded = recordLoads();
  jest.isolateModules(() => {
    const { buildProgram } = jest.requireActual<{ buildProgram: () => Command }>('../../src/client');
    const help = everyHelp(buildProgram());
    expect(help.join('\n')).toContain('register-search-attributes');
  });
  expect(loaded).toEqual([]);
});

test('the recorder sees a load: the worker module brings in the SDK and the activities', () => {
  const loaded = recordLoads();
  jest.isolateModules(() => {
    jest.requireActual(path.join(src, 'worker'));
  });
  // requireActual bypasses the mock of src/worker itself, so its own imports are what is recorded.
  expect(loaded).toEqual(expect.arrayContaining(['@temporalio/worker', 'src/activities/index.ts']));
});

test('`release status` registers and loads only its own command file: not release db (zod, pg) nor the others', () => {
  jest.isolateModules(() => {
    const { buildProgram } = jest.requireActual<{ buildProgram: (words?: readonly string[]) => Command }>(
      '../../src/client',
    );
    const program = buildProgram(['release', 'status', 'production']);
    const release = program.commands.find((c) => c.name() === 'release');
    expect(program.commands.map((c) => c.name())).toEqual(['release']);
    expect(release?.commands.map((c) => c.name())).toEqual(['status']);
    const commandFiles = Object.keys(require.cache).filter((f) =>
      f.includes(`${path.sep}cli${path.sep}commands${path.sep}`),
    );
    expect(commandFiles.map((f) => path.basename(f))).toEqual(['release-status.ts']);
  });
});

test('words that name no single command (and config dump-schema, which reads release db) get the whole program', () => {
  jest.isolateModules(() => {
    const { buildProgram } = jest.requireActual<{ buildProgram: (words?: readonly string[]) => Command }>(
      '../../src/client',
    );
    const names = (words: string[]) => buildProgram(words).commands.map((c) => c.name());
    const all = ['worker', 'release', 'temporal', 'stripe', 'providers', 'status', 'config'];
    expect(names([])).toEqual(all);
    expect(names(['--help'])).toEqual(all);
    expect(names(['config', 'dump-schema'])).toEqual(all);
    expect(names(['release', 'statuz'])).toEqual(['release']);
    expect(buildProgram(['release', 'statuz']).commands[0]?.commands).toHaveLength(9);
  });
});

test('the top-level help lists the groups without loading any command of theirs or the Temporal client', () => {
  const loaded = recordLoads();
  jest.doMock('@temporalio/client', () => {
    loaded.push('@temporalio/client');
    return {};
  });
  jest.isolateModules(() => {
    const { buildProgram } = jest.requireActual<{ buildProgram: (words?: readonly string[]) => Command }>(
      '../../src/client',
    );
    const shallow = buildProgram(['--help']);
    const commandFiles = Object.keys(require.cache)
      .filter((f) => f.includes(`${path.sep}cli${path.sep}commands${path.sep}`))
      .map((f) => path.basename(f));
    expect(commandFiles).toEqual(['worker.ts']);
    expect(loaded).toEqual([]);
    // Byte for byte the help of the whole program.
    expect(shallow.helpInformation()).toBe(buildProgram().helpInformation());
    expect(buildProgram([]).helpInformation()).toBe(shallow.helpInformation());
  });
});

test('what `release status` runs (the client connection, the release reads) does not load the workflow SDK', () => {
  const loaded: string[] = [];
  jest.doMock('@temporalio/workflow', () => {
    loaded.push('@temporalio/workflow');
    return {};
  });
  jest.isolateModules(() => {
    jest.requireActual(path.join(src, 'cli', 'connection'));
    jest.requireActual(path.join(src, 'cli', 'release-runs'));
    jest.requireActual(path.join(src, 'cli', 'commands', 'release-status'));
  });
  expect(loaded).toEqual([]);
});

test("the workflow's messages are exactly what the workflow SDK's define* functions make", () => {
  const sdk = jest.requireActual<typeof WorkflowSdk>('@temporalio/workflow');
  const messages = jest.requireActual<typeof Messages>('../../src/workflows/messages');
  expect(messages.approveSignal).toEqual(sdk.defineSignal('approve'));
  expect(messages.rejectSignal).toEqual(sdk.defineSignal('reject'));
  expect(messages.decideUpdate).toEqual(sdk.defineUpdate('decide'));
  expect(messages.gateQuery).toEqual(sdk.defineQuery('approvalGate'));
  expect(messages.statusQuery).toEqual(sdk.defineQuery('status'));
  expect(messages.summaryQuery).toEqual(sdk.defineQuery('summary'));
  expect(messages.rollbackStatusQuery).toEqual(sdk.defineQuery('rollbackStatus'));
});
