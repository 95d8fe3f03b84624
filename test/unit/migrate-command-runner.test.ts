/**
 * The command runner with real processes: a timeout or a cancellation stops the whole process
 * tree (grandchildren included, SIGKILL for what ignores SIGTERM), output of any volume passes,
 * and secrets never reach the log file or the returned output.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { runCommand } from '../../src/runtime/command-runner';
import { redactorFor, StreamRedactor, TailBuffer } from '../../src/runtime/output';
import { removeTempDirs, tempDir } from '../support/fakes';
import { eventually } from '../support/eventually';

afterAll(removeTempDirs);

const DB_PASSWORD = 'Pw7_RUNNERPASSWORDMIDDLE_qZ';
const STRIPE_KEY = 'sk_test_51RUNNERKEYMIDDLE_never_shown_X987';
const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  DATABASE_URL: `postgresql://app:${DB_PASSWORD}@db:5432/app`,
  STRIPE_SECRET_KEY: STRIPE_KEY,
};
const SECRET_PARTS = [DB_PASSWORD, STRIPE_KEY, 'RUNNERPASSWORDMIDDLE', 'RUNNERKEYMIDDLE'];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie waiting for its parent's reaping is dead for our purposes.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function pidsIn(dir: string, ...names: string[]): number[] {
  return names.map((name) => Number(readFileSync(path.join(dir, name), 'utf8').trim()));
}

describe('a timeout or a cancellation stops the whole process tree', () => {
  // `sh` starts a background grandchild and waits: killing only the direct child would leave it.
  const tree = (dir: string, ignoreTerm: boolean) => [
    'sh',
    '-c',
    `${ignoreTerm ? 'trap "" TERM; ' : ''}echo $$ > ${dir}/child.pid; sleep 300 & echo $! > ${dir}/grandchild.pid; wait`,
  ];

  test('timeout: child and grandchild are gone, the result says it timed out, the log says why', async () => {
    const dir = tempDir();
    const logFile = path.join(dir, 'logs', 'attempt.log');
    const result = await runCommand({
      command: tree(dir, false),
      cwd: dir,
      env: ENV,
      timeoutMs: 1_000,
      killGraceMs: 2_000,
      logFile,
    });
    expect(result).toMatchObject({ timedOut: true, interrupted: true, notFound: false });
    expect(result.exitCode).toBe(128 + 15);
    const [child, grandchild] = pidsIn(dir, 'child.pid', 'grandchild.pid') as [number, number];
    expect(await eventually(() => !alive(child) && !alive(grandchild))).toBe(true);
    expect(readFileSync(logFile, 'utf8')).toMatch(/ran past 1000 ms: process tree stopped/);
  });

  test('a tree that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const dir = tempDir();
    const result = await runCommand({
      command: tree(dir, true),
      cwd: dir,
      env: ENV,
      timeoutMs: 800,
      killGraceMs: 500,
    });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(128 + 9);
    const [child, grandchild] = pidsIn(dir, 'child.pid', 'grandchild.pid') as [number, number];
    expect(await eventually(() => !alive(child) && !alive(grandchild))).toBe(true);
  });

  test('cancellation (abort signal) stops the tree too', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const running = runCommand({
      command: tree(dir, false),
      cwd: dir,
      env: ENV,
      signal: controller.signal,
      killGraceMs: 2_000,
    });
    expect(
      await eventually(
        () =>
          existsSync(path.join(dir, 'grandchild.pid')) &&
          readFileSync(path.join(dir, 'grandchild.pid'), 'utf8').trim() !== '',
      ),
    ).toBe(true);
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ interrupted: true, timedOut: false });
    const [child, grandchild] = pidsIn(dir, 'child.pid', 'grandchild.pid') as [number, number];
    expect(await eventually(() => !alive(child) && !alive(grandchild))).toBe(true);
  });

  test('a background process left behind by a finished command is stopped, not waited for', async () => {
    const dir = tempDir();
    const command = ['sh', '-c', `sleep 300 & echo $! > ${dir}/grandchild.pid; echo done`];
    const result = await runCommand({ command, cwd: dir, env: ENV });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe('done');
    const [grandchild] = pidsIn(dir, 'grandchild.pid') as [number];
    expect(await eventually(() => !alive(grandchild))).toBe(true);
  });
});

describe('output of any volume passes, redacted, to the log file and a bounded tail', () => {
  test('50 MB of output with secrets on every line: exit 0, the full log has no secret, the tail ends with the last line', async () => {
    const dir = tempDir();
    const logFile = path.join(dir, 'attempt.log');
    const line = 'INFO migrating with postgresql://app:$PW@db:5432/app and key $KEY ..........';
    // `yes` repeats the line (expanded once by sh) until 50 MB are written; then the final lines.
    const script = `PW='${DB_PASSWORD}'; KEY='${STRIPE_KEY}'; yes "${line}" | head -c 52428800; echo; echo "last key $KEY"; echo the end`;
    const result = await runCommand({ command: ['sh', '-c', script], cwd: dir, env: ENV, logFile });
    expect(result.exitCode).toBe(0);
    expect(result.interrupted).toBe(false);
    // Redaction shortens every line (27- and 43-character secrets become *** and a 22-character mask).
    expect(statSync(logFile).size).toBeGreaterThan(30_000_000);
    const log = readFileSync(logFile, 'utf8');
    for (const part of SECRET_PARTS) expect(log.includes(part)).toBe(false);
    expect(log).toContain('postgresql://app:***@db:5432/app');
    expect(log).toContain('[redacted sk_t…X987]');
    expect(log).toMatch(/the end\n# exit 0 after \d+ ms\n$/);
    // Memory holds only a tail of what passed.
    expect(result.all.length).toBeLessThan(1_100_000);
    expect(result.all).toMatch(/^…\(\d+ characters cut\)…/);
    expect(result.all.trimEnd().endsWith('last key [redacted sk_t…X987]\nthe end')).toBe(true);
    for (const part of SECRET_PARTS) expect(result.all.includes(part)).toBe(false);
  });

  test('stdout and stderr stay apart, both redacted; a missing program is notFound', async () => {
    const dir = tempDir();
    const result = await runCommand({
      command: ['sh', '-c', 'echo "out $DATABASE_URL"; echo "err $STRIPE_SECRET_KEY" >&2; exit 3'],
      cwd: dir,
      env: ENV,
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout.trim()).toBe('out postgresql://app:***@db:5432/app');
    expect(result.stderr.trim()).toBe('err [redacted sk_t…X987]');
    const missing = await runCommand({ command: ['no-such-program-db-release'], cwd: dir, env: ENV });
    expect(missing.notFound).toBe(true);
    expect(missing.exitCode).toBe(127);
  });
});

describe('streaming helpers', () => {
  const clean = redactorFor(ENV);

  test('a secret split across chunks is still redacted', () => {
    const redactor = new StreamRedactor(clean);
    const text = `key ${STRIPE_KEY} and url postgresql://app:${DB_PASSWORD}@db/app\n`;
    let out = '';
    for (let i = 0; i < text.length; i += 7) out += redactor.push(text.slice(i, i + 7));
    out += redactor.flush();
    expect(out).toBe('key [redacted sk_t…X987] and url postgresql://app:***@db/app\n');
  });

  test('a huge line without a newline is emitted in bounded pieces, cut at whitespace, never through a secret', () => {
    const redactor = new StreamRedactor(clean, 10_000, 200);
    const words = Array.from({ length: 5_000 }, (_, i) => (i % 50 === 0 ? STRIPE_KEY : `w${i}`)).join(' ');
    let out = '';
    let pieces = 0;
    for (let i = 0; i < words.length; i += 997) {
      const piece = redactor.push(words.slice(i, i + 997));
      if (piece) pieces += 1;
      out += piece;
    }
    out += redactor.flush();
    expect(words.length).toBeGreaterThan(30_000);
    // Emitted as it went (the line is over 30 000 characters, the limit 10 000), not held to the end.
    expect(pieces).toBeGreaterThanOrEqual(3);
    expect(out).not.toContain(STRIPE_KEY);
    expect(out.split('[redacted sk_t…X987]').length - 1).toBe(100);
  });

  test('the tail buffer keeps the end and says how much it cut', () => {
    const tail = new TailBuffer(10);
    for (const chunk of ['aaaa', 'bbbb', 'cccc', 'dddd']) tail.append(chunk);
    expect(tail.toString()).toBe('…(6 characters cut)…\nbbccccdddd');
    expect(tail.total).toBe(16);
  });
});
