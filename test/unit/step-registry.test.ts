/**
 * The step registry (src/release/steps.ts) is what the workflow, the summary, the report, the live
 * view and the mocks read: these tests hold them to it, so a step added there shows everywhere.
 */
import { renderReleaseReport } from '../../src/release/report';
import {
  COMPENSATIONS,
  FIRST_GATED_STEP,
  manualActionFor,
  STEP_NAMES,
  STEPS,
  stepDefinition,
} from '../../src/release/steps';
import { initialSummary, skippedStep, STEP_ORDER } from '../../src/release/summary';
import type { ReleaseInput, StepName } from '../../src/release/types';
import { renderLiveView } from '../../src/cli/live-view';
import { mockActivities } from '../workflow/mock-activities';

const input: ReleaseInput = {
  environment: 'staging',
  plans: [{ code: 'starter', name: 'Starter', amount: 900 }],
  currency: 'usd',
  trialDays: 0,
  startedBy: 'alice',
  options: { non_interactive: true, skip_stripe: false, skip_db_checks: false, no_rollback: false },
  approval: { required: false, approvers: [], fourEyes: false, timeout: '24 hours' },
};

test('StepName is the registry (one entry per name), and STEP_ORDER is the registry order', () => {
  // StepName is derived from STEPS, so "every StepName has an entry" holds by construction; a
  // name registered twice, or one the summary could not carry as a plain key, is what can go wrong.
  const name: StepName = STEP_NAMES[0] ?? 'preflight';
  expect(stepDefinition(name).name).toBe(name);
  expect(new Set(STEP_NAMES).size).toBe(STEPS.length);
  for (const n of STEP_NAMES) expect(n).toMatch(/^[a-z][a-z_]*$/);
  expect(STEP_ORDER).toEqual(STEPS.map((s) => s.name));
  for (const name of STEP_NAMES) expect(stepDefinition(name).title).not.toBe('');
  expect(STEP_NAMES).toContain(FIRST_GATED_STEP);
});

test('every activity a step names is one the workers run, and the mocks record each of them', async () => {
  const mocks = mockActivities();
  const names = Object.keys(mocks.activities);
  for (const step of STEPS) for (const activity of step.activities) expect(names).toContain(activity);
  // The recording wrapper covers every activity, not a hand-kept list.
  const activities = mocks.activities as unknown as Record<string, (input?: unknown) => Promise<unknown>>;
  await activities.readReleaseEvidence?.();
  await activities.runMigrations?.();
  expect(mocks.names()).toEqual(['readReleaseEvidence', 'runMigrations']);
});

test('each compensation belongs to the step that registers it, with a manual action', () => {
  for (const step of STEPS) {
    for (const name of step.compensations) expect(COMPENSATIONS[name].step).toBe(step.name);
  }
  const registered = STEPS.flatMap((s) => [...s.compensations]).sort();
  expect(registered).toEqual(Object.keys(COMPENSATIONS).sort());
  const before = { revisions: ['a1', 'b1'], revision: 'a1' };
  for (const c of Object.values(COMPENSATIONS)) expect(c.manualAction(before)).not.toBe('');
});

test('the schema manual action names the exact set, or the single revision (base when none)', () => {
  expect(manualActionFor('migrations', { revisions: ['b1', 'a1'], revision: null })).toBe(
    'bring the schema back to exactly {a1, b1} by hand (alembic downgrade b1, then alembic downgrade a1, or restore from backup)',
  );
  expect(manualActionFor('migrations', { revisions: [], revision: null })).toBe(
    'bring the schema back to base by hand (alembic downgrade base, or restore from backup)',
  );
  expect(manualActionFor('stripe', { revisions: [], revision: null })).toContain('Stripe dashboard');
});

test('the report lists the registry steps an ended release never started, with their titles', () => {
  const summary = initialSummary(
    input,
    { workflowId: 'db-release-staging', runId: 'run-1' },
    new Date('2025-11-24T10:00:00Z'),
  );
  summary.status = 'failed';
  summary.steps.push({
    ...skippedStep('preflight', 'x', new Date('2025-11-24T10:00:01Z')),
    status: 'failed',
  });
  const md = renderReleaseReport(summary);
  const rest = STEPS.filter((s) => s.name !== 'preflight');
  expect(md).toContain(`Not started: ${rest.map((s) => `\`${s.name}\` (${s.title})`).join(', ')}.`);
  // A release still running has not ended: nothing is "not started" yet.
  summary.status = 'running';
  expect(renderReleaseReport(summary)).not.toContain('Not started:');
});

test('the live view draws one row per registry step, in order, with the gate before the first gated step', () => {
  const summary = initialSummary(
    input,
    { workflowId: 'db-release-staging', runId: 'run-1' },
    new Date('2025-11-24T10:00:00Z'),
  );
  const lines = renderLiveView(
    {
      currentStep: 'preflight',
      waitingForApproval: false,
      policy: { ...input.approval, required: true },
      plan: null,
      ignoredDecisions: [],
      summary,
    },
    new Date('2025-11-24T10:00:02Z'),
  );
  const rows = lines.filter((l) => /^ {2}\[/.test(l)).map((l) => l.replace(/^ {2}\[..\] (\S+).*$/, '$1'));
  const expected = [...STEP_NAMES] as string[];
  expected.splice(expected.indexOf(FIRST_GATED_STEP), 0, 'approval');
  expect(rows).toEqual(expected);
});
