/**
 * The migrate guard against a real PostgreSQL, with real processes standing in for the worker:
 * a retry's guard waits for an orphaned earlier run (its worker SIGKILLed) and runs only after it
 * ends; a hung command dies with its whole tree; an orphan is bounded by its own deadline; a guard
 * whose worker dies while it waits never runs. Needs `npm run build` (the guard is compiled).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createDatabase, dropDatabase } from '../../src/devstack/postgres';
import { repoRoot } from '../../src/devstack/paths';
import {
  migrateGuardScript,
  runCommand,
  type GuardEvent,
  type RunRequest,
} from '../../src/runtime/command-runner';
import { advisoryLockKey } from '../../src/runtime/guard-protocol';
import { discardWarm, warmPids } from '../../src/runtime/warm-process';
import { removeTempDirs, tempDir } from '../support/fakes';
import { eventually } from '../support/eventually';

const DB_NAME = `dbr_test_migrate_guard_${randomUUID().slice(0, 8)}`;
let databaseUrl = '';
const DIST_RUNNER = path.join(repoRoot(), 'dist', 'src', 'runtime', 'command-runner.js');
const standIns: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(DIST_RUNNER))
    throw new Error(`${DIST_RUNNER} is missing: run \`npm run build\` before this test`);
  migrateGuardScript();
  databaseUrl = await createDatabase(DB_NAME);
});

afterAll(async () => {
  for (const child of standIns)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await dropDatabase(DB_NAME);
  removeTempDirs();
});

const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', DATABASE_URL: databaseUrl });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

/**
 * A stand-in for the worker: a separate Node process that runs the compiled runner with the
 * request, as the migrate activity does, so the test can SIGKILL it like a crashed worker.
 */
function workerStandIn(request: RunRequest): ChildProcess {
  const script = `require(${JSON.stringify(DIST_RUNNER)}).runCommand(JSON.parse(process.argv[1])).then((r) => process.stdout.write(JSON.stringify(r.exitCode)))`;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify(request)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  standIns.push(child);
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** The OS pid of the guard holding the lock, from the application_name it gives its session. */
async function guardPids(): Promise<number[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ application_name: string }>(
      "select application_name from pg_stat_activity where datname = current_database() and application_name like 'db-release migrate-guard pid=%'",
    );
    return rows.map((r) => Number(/pid=(\d+)/.exec(r.application_name)?.[1]));
  } finally {
    await client.end();
  }
}

async function lockIsFree(lock: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const key = advisoryLockKey(lock).toString();
    const { rows } = await client.query<{ locked: boolean }>(
      'select pg_try_advisory_lock($1::bigint) as locked',
      [key],
    );
    if (rows[0]?.locked) await client.query('select pg_advisory_unlock($1::bigint)', [key]);
    return rows[0]?.locked === true;
  } finally {
    await client.end();
  }
}

test('while guard A holds the lock with its worker SIGKILLed, guard B waits, then runs after A’s command ends', async () => {
  const dir = tempDir();
  const lock = `test-${randomUUID()}`;
  const order = path.join(dir, 'order');
  const releaseA = path.join(dir, 'release-a');
  const aLog = path.join(dir, 'a.log');
  const parentA = workerStandIn({
    command: [
      'sh',
      '-c',
      `echo "A start" >> ${order}; while [ ! -f ${releaseA} ]; do sleep 0.1; done; echo "A end" >> ${order}`,
    ],
    cwd: dir,
    env: env(),
    exclusiveLock: lock,
    logFile: aLog,
    timeoutMs: 120_000,
  });
  await eventually(() => read(order) === 'A start\n', { what: 'A’s command to start', timeoutMs: 20_000 });
  const [guardA] = await guardPids();
  if (!guardA) throw new Error('no guard session in pg_stat_activity');

  await killed(parentA);
  // The worker is gone; its guard and the command live on, orphaned, with the lock.
  expect(alive(guardA)).toBe(true);
  await eventually(() => read(aLog).includes('the worker that started this guard is gone'), {
    what: 'guard A to notice its worker is gone',
    timeoutMs: 20_000,
  });

  const events: GuardEvent[] = [];
  const runB = runCommand({
    command: ['sh', '-c', `echo "B start" >> ${order}`],
    cwd: dir,
    env: env(),
    exclusiveLock: lock,
    timeoutMs: 120_000,
    onGuardEvent: (event) => events.push(event),
  });
  await eventually(() => events.some((e) => e.kind === 'waiting'), {
    what: 'guard B to report it waits for A',
    timeoutMs: 20_000,
  });
  const waiting = events.find((e) => e.kind === 'waiting');
  expect(waiting?.text).toMatch(
    new RegExp(`^waiting for an earlier ${lock} still running, pid ${guardA} on `),
  );
  expect(waiting?.holderPid).toBe(guardA);
  expect(read(order)).toBe('A start\n');

  writeFileSync(releaseA, '');
  const b = await runB;
  expect(b.exitCode).toBe(0);
  expect(read(order)).toBe('A start\nA end\nB start\n');
  expect(events.map((e) => e.kind)).toEqual(['waiting', 'locked', 'started', 'finished']);
  await eventually(() => !alive(guardA), { what: 'guard A to exit', timeoutMs: 20_000 });
  expect(read(aLog)).toMatch(
    /\[migrate-guard:finished\] `sh -c .*` exited with code 0; releasing the test-[\w-]+ lock/,
  );
});

test('a hung command is stopped with its whole process tree on timeout, and the lock is released', async () => {
  const dir = tempDir();
  const lock = `test-${randomUUID()}`;
  const command = [
    'sh',
    '-c',
    `echo $$ > ${dir}/child.pid; sleep 300 & echo $! > ${dir}/grandchild.pid; wait`,
  ];
  const result = await runCommand({
    command,
    cwd: dir,
    env: env(),
    exclusiveLock: lock,
    timeoutMs: 1_500,
    killGraceMs: 500,
    logFile: path.join(dir, 'log'),
  });
  expect(result.timedOut).toBe(true);
  const [child, grandchild] = ['child.pid', 'grandchild.pid'].map((f) =>
    Number(read(path.join(dir, f)).trim()),
  ) as [number, number];
  await eventually(() => !alive(child) && !alive(grandchild), {
    what: 'child and grandchild to be gone',
    timeoutMs: 5_000,
  });
  expect((result.guardEvents ?? []).map((e) => e.kind)).toContain('stopping');
  expect(read(path.join(dir, 'log'))).toContain('[migrate-guard:stopping] SIGTERM: stopping');
  expect(await lockIsFree(lock)).toBe(true);
});

test('an orphaned guard enforces the step deadline itself: the hung command dies even with its worker gone', async () => {
  const dir = tempDir();
  const lock = `test-${randomUUID()}`;
  const log = path.join(dir, 'log');
  const parent = workerStandIn({
    command: ['sh', '-c', `echo $$ > ${dir}/child.pid; sleep 300 & echo $! > ${dir}/grandchild.pid; wait`],
    cwd: dir,
    env: env(),
    exclusiveLock: lock,
    logFile: log,
    // The guard's own deadline is this plus 2 × grace plus 5 s: about 6 s.
    timeoutMs: 600,
    killGraceMs: 200,
  });
  await eventually(() => read(path.join(dir, 'grandchild.pid')).trim() !== '', {
    what: 'the command to start',
    timeoutMs: 20_000,
  });
  await killed(parent);
  const [child, grandchild] = ['child.pid', 'grandchild.pid'].map((f) =>
    Number(read(path.join(dir, f)).trim()),
  ) as [number, number];
  await eventually(() => !alive(child) && !alive(grandchild), {
    what: 'the orphan’s deadline to stop the tree',
    timeoutMs: 30_000,
  });
  expect(read(log)).toMatch(/\[migrate-guard:timeout\] `sh -c .*` ran past the step's deadline/);
  await eventually(() => lockIsFree(lock), { what: 'the lock to be released', timeoutMs: 5_000 });
});

test('a guard still waiting when its worker dies gives up without running the command', async () => {
  const dir = tempDir();
  const lock = `test-${randomUUID()}`;
  const order = path.join(dir, 'order');
  const releaseA = path.join(dir, 'release-a');
  const runA = runCommand({
    command: [
      'sh',
      '-c',
      `echo "A start" >> ${order}; while [ ! -f ${releaseA} ]; do sleep 0.1; done; echo "A end" >> ${order}`,
    ],
    cwd: dir,
    env: env(),
    exclusiveLock: lock,
    timeoutMs: 120_000,
  });
  await eventually(() => read(order) === 'A start\n', { what: 'A’s command to start', timeoutMs: 20_000 });
  const bLog = path.join(dir, 'b.log');
  const parentB = workerStandIn({
    command: ['sh', '-c', `echo "B start" >> ${order}`],
    cwd: dir,
    env: env(),
    exclusiveLock: lock,
    logFile: bLog,
    timeoutMs: 120_000,
  });
  await eventually(() => read(bLog).includes('[migrate-guard:waiting]'), {
    what: 'B to wait',
    timeoutMs: 20_000,
  });
  await killed(parentB);
  await eventually(() => read(bLog).includes('[migrate-guard:parent-gone]'), {
    what: 'B’s guard to give up',
    timeoutMs: 20_000,
  });
  writeFileSync(releaseA, '');
  expect((await runA).exitCode).toBe(0);
  expect(read(order)).toBe('A start\nA end\n');
});

test('with the database unreachable the guard starts nothing and says why (exit 75)', async () => {
  const dir = tempDir();
  const marker = path.join(dir, 'ran');
  const result = await runCommand({
    command: ['touch', marker],
    cwd: dir,
    env: { ...env(), DATABASE_URL: 'postgresql://app:Secret_pw_123@127.0.0.1:1/app' },
    exclusiveLock: `test-${randomUUID()}`,
  });
  expect(result.exitCode).toBe(75);
  const unavailable = (result.guardEvents ?? []).find((e) => e.kind === 'unavailable');
  expect(unavailable?.text).toMatch(
    /^cannot connect to DATABASE_URL to take the test-[\w-]+ lock: .*ECONNREFUSED/,
  );
  expect(result.all).not.toContain('Secret_pw_123');
  expect(existsSync(marker)).toBe(false);
});

test('the command never runs without the lock: when the connection holding it is killed, the guard stops the command tree (exit 75)', async () => {
  const dir = tempDir();
  const lock = `test-${randomUUID()}`;
  const command = [
    'sh',
    '-c',
    `echo $$ > ${dir}/child.pid; sleep 300 & echo $! > ${dir}/grandchild.pid; wait`,
  ];
  const events: GuardEvent[] = [];
  const running = runCommand({
    command,
    cwd: dir,
    env: env(),
    exclusiveLock: lock,
    killGraceMs: 500,
    timeoutMs: 120_000,
    onGuardEvent: (e) => events.push(e),
  });
  await eventually(() => read(path.join(dir, 'grandchild.pid')).trim() !== '', {
    what: 'the command to start',
    timeoutMs: 20_000,
  });
  // What a database restart or an administrator does to the guard's session.
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ terminated: boolean }>(
      "select pg_terminate_backend(pid) as terminated from pg_stat_activity where datname = current_database() and application_name like 'db-release migrate-guard pid=%'",
    );
    expect(rows.map((r) => r.terminated)).toEqual([true]);
  } finally {
    await client.end();
  }
  const result = await running;
  expect(result.exitCode).toBe(75);
  expect(events.find((e) => e.kind === 'lost-lock')?.text).toMatch(
    /^the database connection holding the test-[\w-]+ lock broke \(.*\); stopping `sh -c .*` so it never runs beside another$/,
  );
  const [child, grandchild] = ['child.pid', 'grandchild.pid'].map((f) =>
    Number(read(path.join(dir, f)).trim()),
  ) as [number, number];
  await eventually(() => !alive(child) && !alive(grandchild), {
    what: 'child and grandchild to be gone',
    timeoutMs: 5_000,
  });
  expect(await lockIsFree(lock)).toBe(true);
});

/**
 * A stand-in worker that runs `first` (which leaves a guard started ahead), reports that guard's
 * pid, then runs `then` if given, or stays alive; resolves with the stand-in and the pid.
 */
async function standInWithIdleGuard(
  first: RunRequest,
  then?: RunRequest,
): Promise<{ worker: ChildProcess; idle: number }> {
  const warmModule = path.join(repoRoot(), 'dist', 'src', 'runtime', 'warm-process.js');
  const script =
    `const r = require(${JSON.stringify(DIST_RUNNER)}); const w = require(${JSON.stringify(warmModule)});` +
    `(async () => { await r.runCommand(JSON.parse(process.argv[1]));` +
    ` process.stdout.write(JSON.stringify(w.warmPids()) + '\\n');` +
    ` if (process.argv[2]) await r.runCommand(JSON.parse(process.argv[2])); else setInterval(() => undefined, 1000); })()`;
  const worker = spawn(
    process.execPath,
    ['-e', script, JSON.stringify(first), ...(then ? [JSON.stringify(then)] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  standIns.push(worker);
  let printed = '';
  worker.stdout?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  await eventually(() => printed.includes('\n'), {
    what: 'the stand-in to report its idle guard',
    timeoutMs: 20_000,
  });
  const [idle] = JSON.parse(printed) as number[];
  if (idle === undefined) throw new Error('the stand-in started no guard ahead');
  return { worker, idle };
}

describe('a guard started ahead (issue 15)', () => {
  test('runs the next guarded command like one started on demand, with the whole environment; idle, it holds no secret', async () => {
    discardWarm();
    const dir = tempDir();
    const lock = `test-${randomUUID()}`;
    const out = path.join(dir, 'out');
    const request: RunRequest = {
      command: ['sh', '-c', `printf '%s\\n%s\\n%s\\n' "$PPID" "$DATABASE_URL" "$GUARD_TEST_SECRET" > ${out}`],
      cwd: dir,
      env: { ...env(), GUARD_TEST_SECRET: 'Sk9_GUARDSECRETMIDDLE_zz' },
      exclusiveLock: lock,
      timeoutMs: 60_000,
    };
    const cold = await runCommand(request);
    expect(cold.exitCode).toBe(0);
    const [idle] = warmPids();
    if (idle === undefined) throw new Error('no guard was started ahead');
    const environ = readFileSync(`/proc/${idle}/environ`, 'utf8');
    expect(environ).not.toContain('GUARDSECRETMIDDLE');
    expect(environ).not.toContain('DATABASE_URL=');

    const events: GuardEvent[] = [];
    const warm = await runCommand({ ...request, onGuardEvent: (e) => events.push(e) });
    expect(warm.exitCode).toBe(0);
    // The command's parent is the guard that was waiting: it got the request's environment.
    expect(read(out).split('\n').slice(0, 3)).toEqual([
      String(idle),
      databaseUrl,
      'Sk9_GUARDSECRETMIDDLE_zz',
    ]);
    expect(events.map((e) => e.kind)).toEqual(['locked', 'started', 'finished']);
    expect(await lockIsFree(lock)).toBe(true);
    discardWarm();
  });

  test('taken for a long command whose worker is then SIGKILLed, it keeps the lock and the command, like a guard started for the step', async () => {
    const dir = tempDir();
    const lock = `test-${randomUUID()}`;
    const order = path.join(dir, 'order');
    const release = path.join(dir, 'release');
    const log = path.join(dir, 'b.log');
    const first: RunRequest = {
      command: ['true'],
      cwd: dir,
      env: env(),
      exclusiveLock: lock,
      timeoutMs: 60_000,
    };
    const second: RunRequest = {
      command: [
        'sh',
        '-c',
        `echo start >> ${order}; while [ ! -f ${release} ]; do sleep 0.1; done; echo end >> ${order}`,
      ],
      cwd: dir,
      env: env(),
      exclusiveLock: lock,
      logFile: log,
      timeoutMs: 120_000,
    };
    const { worker, idle } = await standInWithIdleGuard(first, second);
    await eventually(() => read(order) === 'start\n', {
      what: 'the long command to start',
      timeoutMs: 20_000,
    });
    // The guard holding the lock is the one that was waiting.
    expect(await guardPids()).toEqual([idle]);

    await killed(worker);
    expect(alive(idle)).toBe(true);
    await eventually(() => read(log).includes('the worker that started this guard is gone'), {
      what: 'the guard to notice its worker is gone',
      timeoutMs: 20_000,
    });
    expect(await lockIsFree(lock)).toBe(false);
    writeFileSync(release, '');
    await eventually(() => read(order) === 'start\nend\n', {
      what: 'the command to finish',
      timeoutMs: 20_000,
    });
    await eventually(() => !alive(idle), { what: 'the guard to exit', timeoutMs: 20_000 });
    await eventually(() => lockIsFree(lock), { what: 'the lock to be released', timeoutMs: 20_000 });
  });

  test('an idle guard exits when the worker that started it dies', async () => {
    const request: RunRequest = {
      command: ['true'],
      cwd: tempDir(),
      env: env(),
      exclusiveLock: `test-${randomUUID()}`,
      timeoutMs: 60_000,
    };
    const { worker, idle } = await standInWithIdleGuard(request);
    expect(alive(idle)).toBe(true);
    await killed(worker);
    await eventually(() => !alive(idle), { what: 'the idle guard to exit', timeoutMs: 10_000 });
  });
});
