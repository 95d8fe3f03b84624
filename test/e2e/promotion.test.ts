/**
 * Issue 17, promotion end to end on a real dev server: two environments, each its own worker,
 * backend copy (the same git commit) and database. The production-like environment's policy
 * requires the staging-like one. Its release is refused before any change without a staging
 * release of the same SHA, accepted after one, refused again once staging's release was rolled
 * back (`release rollback`), and goes ahead with --override-promotion only through an approval
 * that acknowledges the override.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ReleaseSummary } from '../../src/release/types';
import { gateQuery, type GateView } from '../../src/workflows/messages';
import { releaseDbArgs, runCli, startCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { uniqueName } from '../support/temporal';

let prod: E2eStack;
let stg: E2eStack;
const prodEnv = uniqueName('prod');
const stgEnv = uniqueName('stg');
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@localhost',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@localhost',
};

beforeAll(async () => {
  prod = await startE2eStack('promo-prod', { environment: prodEnv });
  stg = await startE2eStack('promo-stg', { environment: stgEnv });
  // The policy lives in the backend's config: production requires staging (approval stays off,
  // so the override test shows the gate opening only because of the override).
  const configFile = path.join(prod.stack.backendDir, 'release.config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8')) as { environments: Record<string, unknown> };
  config.environments[prodEnv] = { promotion: { requires: [stgEnv], maxAge: '1 day' } };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  execFileSync('git', ['commit', '-qam', 'promotion policy'], { cwd: prod.stack.backendDir, env: GIT_ENV });
  // Staging's checkout is the same commit (its .env.local, untracked, keeps its own database).
  execFileSync('git', ['fetch', '-q', prod.stack.backendDir, 'HEAD'], {
    cwd: stg.stack.backendDir,
    env: GIT_ENV,
  });
  execFileSync('git', ['reset', '-q', '--hard', 'FETCH_HEAD'], { cwd: stg.stack.backendDir, env: GIT_ENV });
});
afterAll(async () => {
  await prod?.close();
  await stg?.close();
});

const sha = () =>
  execFileSync('git', ['rev-parse', 'HEAD'], { cwd: prod.stack.backendDir }).toString().trim();

function release(stack: E2eStack, environment: string, extra: string[] = []) {
  const summaryPath = path.join(stack.stack.backendDir, 'var', 'reports', `${uniqueName('promo')}.json`);
  const args = releaseDbArgs({
    projectRoot: stack.stack.backendDir,
    environment,
    summaryPath,
    temporalArgs: stack.temporalArgs,
    extra,
  });
  return { args, summaryPath };
}

async function runRelease(stack: E2eStack, environment: string, extra: string[] = []) {
  const { args, summaryPath } = release(stack, environment, extra);
  const result = await runCli(args);
  const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as ReleaseSummary;
  return { ...result, summary };
}

const revisions = async (stack: E2eStack) =>
  (
    await stack
      .query<{ version_num: string }>('select version_num from alembic_version order by 1')
      .catch(() => [])
  ).map((r) => r.version_num);

async function waitingGate(workflowId: string): Promise<GateView> {
  const handle = prod.ctx.client.workflow.getHandle(workflowId);
  let last: GateView | null = null;
  for (let i = 0; i < 600; i++) {
    last = await handle.query(gateQuery).catch(() => null);
    if (last?.waitingForApproval && last.planDigest) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${workflowId} never waited at the gate; last: ${JSON.stringify(last)}`);
}

test('refused before any change without a staging release; accepted after one of the same SHA; refused again once it was rolled back', async () => {
  // 1. No staging release at all: refused at preflight, the database untouched, exit 1.
  const refused = await runRelease(prod, prodEnv);
  expect(refused.code).toBe(1);
  expect(refused.summary.status).toBe('failed');
  expect(refused.summary.error).toMatchObject({ step: 'preflight', type: 'PromotionRequired' });
  expect(refused.stderr).toContain('refused by the worker (PromotionRequired)');
  expect(refused.stderr).toContain(
    `promotion to ${prodEnv} requires a successful, not rolled back release of git ${sha().slice(0, 12)}`,
  );
  expect(refused.stderr).toContain(`${stgEnv} has no completed release in Temporal`);
  expect(refused.stderr).toContain(`to satisfy it: db-release release db --environment ${stgEnv}`);
  expect(refused.summary.steps.map((s) => s.name)).toEqual(['preflight']);
  expect(refused.summary.promotion).toMatchObject({
    required: [stgEnv],
    satisfied_by: [],
    override: null,
    missing: [{ environment: stgEnv }],
  });
  expect(await revisions(prod)).toEqual([]);

  // 2. Staging releases the same commit: production goes ahead, naming the staging run.
  const staged = await runRelease(stg, stgEnv);
  expect(staged.code).toBe(0);
  expect(staged.summary.git_sha).toBe(sha());
  const accepted = await runRelease(prod, prodEnv);
  expect(accepted.code).toBe(0);
  expect(accepted.summary.status).toBe('success');
  expect(accepted.summary.promotion).toMatchObject({
    required: [stgEnv],
    git_sha: sha(),
    missing: [],
    override: null,
    satisfied_by: [
      { environment: stgEnv, workflow_id: `db-release-${stgEnv}`, run_id: staged.summary.run_id },
    ],
  });
  expect(accepted.summary.promotion?.revisions).toEqual(accepted.summary.alembic_revisions);
  const atHead = await revisions(prod);
  expect(atHead.length).toBeGreaterThan(0);

  // 3. Staging's release is rolled back: production is refused again, saying so, and unchanged.
  const rollback = await runCli([
    'release',
    'rollback',
    stgEnv,
    '--project-root',
    stg.stack.backendDir,
    '--operator',
    'dave',
    ...stg.temporalArgs,
  ]);
  expect(rollback.code).toBe(0);
  const again = await runRelease(prod, prodEnv);
  expect(again.code).toBe(1);
  expect(again.summary.error).toMatchObject({ step: 'preflight', type: 'PromotionRequired' });
  expect(again.stderr).toMatch(
    new RegExp(
      `${stgEnv}'s release of git ${sha().slice(0, 12)} \\(run ${staged.summary.run_id}\\) was rolled back \\(rolled_back\\) by run `,
    ),
  );
  expect(await revisions(prod)).toEqual(atHead);
});

test('--override-promotion: the release waits at the gate although approval is off; a plain approval is refused; one that acknowledges it goes ahead and is recorded', async () => {
  // Staging's only release was rolled back by the previous test (or never happened when run alone).
  for (const [reason, message] of [
    ['   ', /--override-promotion (is empty|needs a reason)/],
    ['x'.repeat(501), /--override-promotion: the reason is longer than 500 characters/],
  ] as const) {
    const bad = await runCli(release(prod, prodEnv, ['--override-promotion', reason]).args);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(message);
  }

  const { args, summaryPath } = release(prod, prodEnv, ['--override-promotion', 'staging is down (INC-42)']);
  const run = startCli(args);
  const workflowId = `db-release-${prodEnv}`;
  const gate = await waitingGate(workflowId);
  expect(gate.policy?.required).toBe(true);
  expect(gate.plan?.promotion).toMatchObject({
    required: [stgEnv],
    overrideReason: 'staging is down (INC-42)',
    requestedBy: 'alice',
  });
  expect(gate.plan?.promotion?.missing.map((m) => m.environment)).toEqual([stgEnv]);

  const status = await runCli(['release', 'status', prodEnv, ...prod.temporalArgs]);
  expect(status.stdout).toContain(`promotion: ${stgEnv} missing: `);
  const plain = await runCli(['release', 'approve', prodEnv, '--approver', 'bob', ...prod.temporalArgs]);
  expect(plain.code).toBe(1);
  expect(plain.stderr).toContain(
    'promotion overridden by alice: "staging is down (INC-42)"; approving needs --override-promotion',
  );
  expect(plain.stderr).toMatch(/a plain approval is refused.*--override-promotion/);

  const ok = await runCli([
    'release',
    'approve',
    prodEnv,
    '--approver',
    'bob',
    '--override-promotion',
    ...prod.temporalArgs,
  ]);
  expect(ok.code).toBe(0);
  const done = await run.done;
  expect(done.code).toBe(0);
  const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as ReleaseSummary;
  expect(summary.status).toBe('success');
  expect(summary.approval).toMatchObject({ decision: 'approved', approver: 'bob', override_promotion: true });
  expect(summary.promotion?.override).toEqual({
    by: 'bob',
    reason: 'staging is down (INC-42)',
    requested_by: 'alice',
  });
  expect(summary.promotion?.missing.map((m) => m.environment)).toEqual([stgEnv]);
});
