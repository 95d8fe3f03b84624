/**
 * `npm run demo` as a newcomer meets it: a short account of what the release did, earlier runs'
 * evidence kept, and a second demo refused while one runs (same checkout, or its ports taken).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../src/devstack/paths';
import { dropDatabase } from '../../src/devstack/postgres';
import { cliEnv, type CliResult } from '../support/cli';
import { uniqueName } from '../support/temporal';

interface DemoRun {
  done: Promise<CliResult>;
  stderrLine(pattern: RegExp): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function runDemo(env: Record<string, string>): DemoRun {
  const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'scripts', 'demo.js')], {
    env: cliEnv({ CI: 'true', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...waiters]) {
      if (!w.pattern.test(stderr)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    done,
    stderrLine: (pattern) =>
      pattern.test(stderr)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ pattern, resolve })),
            done.then((r) => {
              throw new Error(`demo ended (exit ${r.code}) before printing ${pattern}: ${r.stderr}`);
            }),
          ]),
  };
}

const database = uniqueName('dbr_demo_test').replace(/-/g, '_');
afterAll(async () => {
  await dropDatabase(database);
});

test('the demo tells what the release did, keeps every run, and refuses a second demo while one runs', async () => {
  const demoDir = await mkdtemp(path.join(os.tmpdir(), 'db-release-demo-'));
  const reports = path.join(demoDir, 'reports');
  const ports = { DEMO_TEMPORAL_PORT: String(await freePort()), DEMO_UI_PORT: String(await freePort()) };
  const env = {
    DB_RELEASE_DEMO_DIR: demoDir,
    DB_RELEASE_DEMO_REPORTS: reports,
    DB_RELEASE_DEMO_DATABASE: database,
    ...ports,
  };

  const first = runDemo(env);
  await first.stderrLine(/^demo: Temporal /m);
  // Same checkout: the lock refuses at once, and nothing is started.
  const sameCheckout = await runDemo(env).done;
  expect(sameCheckout.code).toBe(2);
  expect(sameCheckout.stderr).toMatch(/demo refused: another demo \(pid \d+\) is running from this checkout/);
  // Another checkout (its own folder) on the same ports: refused naming the port and the variable.
  const otherDir = await mkdtemp(path.join(os.tmpdir(), 'db-release-demo-other-'));
  const samePorts = await runDemo({ ...env, DB_RELEASE_DEMO_DIR: otherDir }).done;
  expect(samePorts.code).toBe(2);
  expect(samePorts.stderr).toContain(`port ${ports.DEMO_TEMPORAL_PORT} is already in use`);
  expect(samePorts.stderr).toContain('DEMO_TEMPORAL_PORT');
  expect(existsSync(path.join(otherDir, 'backend'))).toBe(false);

  const one = await first.done;
  expect(one.code).toBe(0);
  expect(one.stdout).toMatch(/^Demo release success in \d+\.\d s$/m);
  expect(one.stdout).toMatch(/migrations: +applied 2 revision\(s\) \(base → 20251107_090000/);
  expect(one.stdout).toMatch(/Stripe: +products 2 created, 0 reused; prices 2 created, 0 reused/);
  expect(one.stdout).toMatch(
    /prices: +starter 0\.00 USD\/month \(created\), pro \d[\d,]*\.\d\d USD\/month \(created\)/,
  );
  expect(one.stdout).toMatch(/billing_plans: starter=ok, pro=ok/);
  // Quiet: no webpack module tree, no worker INFO blocks.
  expect(`${one.stdout}${one.stderr}`).not.toMatch(/modules by path|INFO|\[webpack/);

  const two = await runDemo(env).done;
  expect(two.code).toBe(0);
  expect(two.stdout).toMatch(/migrations: +none applied/);
  expect(two.stdout).toMatch(/prices 0 created, 2 reused/);
  const kept = (await readdir(reports)).sort();
  expect(kept.filter((f) => f.endsWith('.json'))).toHaveLength(2);
  expect(kept.filter((f) => f.endsWith('.md'))).toHaveLength(2);
}, 240_000);
