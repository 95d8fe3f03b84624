/**
 * Processes started ahead (issue 15), with the real inspector: the idle interpreter holds no
 * secret, a request it serves gives the same answer as a cold start, a changed script on disk is
 * run fresh, and an idle process whose worker is gone exits.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { venvBin } from '../../src/devstack/paths';
import { runCommand } from '../../src/runtime/command-runner';
import {
  deferredRefills,
  discardWarm,
  startupEnvOf,
  warmPids,
  workTracker,
} from '../../src/runtime/warm-process';
import { eventually } from '../support/eventually';
import { removeTempDirs, tempDir } from '../support/fakes';

const REPO = path.join(__dirname, '..', '..');
const SECRET = 'Pw3_WARMSECRETMIDDLE_never_zz';

afterEach(() => discardWarm());
afterAll(removeTempDirs);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** A copy of the saas sample and of the inspector; env with a secret, as the backend's env files give. */
function setup() {
  const dir = tempDir('db-release-warm-');
  cpSync(path.join(REPO, 'examples', 'saas-backend'), path.join(dir, 'backend'), { recursive: true });
  const inspector = path.join(dir, 'alembic_inspect.py');
  copyFileSync(path.join(REPO, 'tools', 'alembic_inspect.py'), inspector);
  const env = {
    PATH: `${venvBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? '/tmp',
    DATABASE_URL: `postgresql://app:${SECRET}@127.0.0.1:1/none`,
    WARM_TEST_SECRET: SECRET,
  };
  const request = {
    command: ['python3', inspector, '--config', 'alembic.ini', '--current', '20251106_120000', '--sql'],
    cwd: path.join(dir, 'backend'),
    env,
    warm: true,
    timeoutMs: 60_000,
  };
  return { dir, inspector, env, request };
}

test('the next inspection runs in the process started ahead, with the same answer; the idle one holds no secret', async () => {
  const { request } = setup();
  const cold = await runCommand(request);
  expect(cold.exitCode).toBe(0);
  const [idle] = warmPids();
  if (idle === undefined) throw new Error('no process was started ahead');
  const environ = readFileSync(`/proc/${idle}/environ`, 'utf8').split('\0');
  expect(environ.some((v) => v.startsWith('PATH='))).toBe(true);
  expect(environ.join('\n')).not.toContain(SECRET);
  expect(environ.some((v) => v.startsWith('DATABASE_URL='))).toBe(false);

  const warm = await runCommand(request);
  expect(warm.exitCode).toBe(0);
  expect(JSON.parse(warm.stdout)).toEqual(JSON.parse(cold.stdout));
  // That process served the request and is gone; the next one waits.
  await eventually(() => !alive(idle), { what: 'the used process to exit', timeoutMs: 10_000 });
  expect(warmPids()).toHaveLength(1);
  expect(warmPids()).not.toContain(idle);
});

test('a script changed on disk after the process started is not served by it', async () => {
  const { inspector, request } = setup();
  await runCommand(request);
  const [idle] = warmPids();
  if (idle === undefined) throw new Error('no process was started ahead');
  // Loaded before this line existed: only a fresh start of the script prints it.
  const source = readFileSync(inspector, 'utf8');
  writeFileSync(
    inspector,
    source.replace('\nFORMAT = ', '\nsys.stderr.write("fresh-copy-of-the-inspector\\n")\nFORMAT = '),
  );
  const after = await runCommand(request);
  expect(after.exitCode).toBe(0);
  expect(after.stderr).toContain('fresh-copy-of-the-inspector');
  expect(JSON.parse(after.stdout)).toMatchObject({
    heads: ['20251107_090000'],
    pending: ['20251107_090000'],
  });
  await eventually(() => !alive(idle), { what: 'the retired process to exit', timeoutMs: 10_000 });
});

test('the idle inspector itself re-executes a request when its script changed after its imports', async () => {
  const { inspector, env, request } = setup();
  const child = spawn(path.join(venvBin(), 'python3'), [inspector, '--serve-once', '60'], {
    env: startupEnvOf(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Once it waits for its request (blocked in select on stdin) its imports are done: change the script.
  await eventually(() => /select|poll/.test(readFileSync(`/proc/${child.pid}/wchan`, 'utf8')), {
    what: 'the idle inspector to wait for its request',
    timeoutMs: 20_000,
  });
  const source = readFileSync(inspector, 'utf8');
  writeFileSync(
    inspector,
    source.replace('\nFORMAT = ', '\nsys.stderr.write("fresh-copy-of-the-inspector\\n")\nFORMAT = '),
  );
  child.stdin.end(`${JSON.stringify({ argv: request.command.slice(2), cwd: request.cwd, env })}\n`);
  expect(await exited).toBe(0);
  expect(errors).toContain('fresh-copy-of-the-inspector');
  expect(JSON.parse(out)).toMatchObject({ heads: ['20251107_090000'] });
});

test('a run whose result says the next would not need one starts nothing ahead, but still takes one that is ready', async () => {
  const { request } = setup();
  const seen: string[] = [];
  const none = {
    ...request,
    warm: {
      startNext: (done: { stdout: string }) => {
        seen.push(done.stdout);
        return false;
      },
    },
  };
  expect((await runCommand(none)).exitCode).toBe(0);
  expect(seen).toHaveLength(1);
  expect(seen[0]).toContain('db-release-alembic-inspect/1');
  expect(warmPids()).toEqual([]);
  await runCommand(request);
  const [idle] = warmPids();
  if (idle === undefined) throw new Error('no process was started ahead');
  expect((await runCommand(none)).exitCode).toBe(0);
  await eventually(() => !alive(idle), { what: 'the taken process to exit', timeoutMs: 10_000 });
  expect(warmPids()).toEqual([]);
});

test('DB_RELEASE_START_AHEAD=0 starts nothing ahead', async () => {
  const { request } = setup();
  process.env.DB_RELEASE_START_AHEAD = '0';
  try {
    expect((await runCommand(request)).exitCode).toBe(0);
    expect(warmPids()).toEqual([]);
  } finally {
    delete process.env.DB_RELEASE_START_AHEAD;
  }
});

test('another interpreter (another PATH) is never served by an idle process', async () => {
  const { request } = setup();
  await runCommand(request);
  const [idle] = warmPids();
  const other = await runCommand({
    ...request,
    env: { ...request.env, PATH: `/nonexistent:${request.env.PATH}` },
  });
  expect(other.exitCode).toBe(0);
  expect(idle !== undefined && alive(idle)).toBe(true);
  expect(warmPids()).toContain(idle);
});

test('an idle inspector exits without output when its stdin closes (the worker is gone)', async () => {
  const { inspector, env } = setup();
  const child = spawn(path.join(venvBin(), 'python3'), [inspector, '--serve-once', '60'], {
    env: startupEnvOf(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdin.end();
  expect(await exited).toBe(0);
  expect(out).toBe('');
});

describe('while the worker runs activities, the next process waits for it to go quiet', () => {
  let trackerBusy = 0;
  const activityStarted = () => {
    workTracker.started();
    trackerBusy++;
  };
  const activityEnded = () => {
    workTracker.ended();
    trackerBusy--;
  };
  // Leave the tracker as found (no activity running) and nothing deferred.
  afterEach(() => {
    while (trackerBusy > 0) activityEnded();
    discardWarm();
  });

  test('a command run inside an activity starts no process until the last activity has ended', async () => {
    const { request } = setup();
    activityStarted(); // the preflight step, say
    expect((await runCommand(request)).exitCode).toBe(0);
    expect(warmPids()).toEqual([]);
    expect(deferredRefills()).toBe(1);
    activityStarted(); // a second one before the first ends: still nothing
    activityEnded();
    expect(warmPids()).toEqual([]);
    activityEnded(); // quiet now: started shortly after
    await eventually(() => warmPids().length === 1, {
      what: 'the deferred process to start',
      timeoutMs: 10_000,
    });
    expect(deferredRefills()).toBe(0);
  });

  test('a worker that never goes quiet still gets its next process (after a bounded wait)', async () => {
    const { request } = setup();
    activityStarted();
    expect((await runCommand(request)).exitCode).toBe(0);
    expect(warmPids()).toEqual([]);
    await eventually(() => warmPids().length === 1, {
      what: 'the deferred process to start while an activity still runs',
      timeoutMs: 15_000,
    });
  });

  test('outside a worker (no activity running) it starts at once, as before', async () => {
    const { request } = setup();
    expect((await runCommand(request)).exitCode).toBe(0);
    expect(warmPids()).toHaveLength(1);
    expect(deferredRefills()).toBe(0);
  });
});
