/**
 * A person approves from the Temporal Web UI: headless Chromium opens the dev server's UI, finds
 * the waiting release, sends the `approve` signal through the UI's form, and the release ends.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { addressOf, startDevServer } from '../../src/devstack/temporal';
import { repoRoot } from '../../src/devstack/paths';
import type { ReleaseSummary } from '../../src/release/types';
import { statusQuery } from '../../src/workflows/messages';
import { runCli, startCli } from '../support/cli';
import { startE2eStack, type E2eStack } from '../support/e2e-stack';
import { eventually } from '../support/eventually';
import { quietLogs } from '../support/temporal';

/** Debian's chromium, the flags this machine needs (no network beyond loopback). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const OUTPUT = path.join(repoRoot(), 'test-output', 'web-ui');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

let server: TestWorkflowEnvironment;
let uiUrl: string;
let e2e: E2eStack;
let browser: Browser;

beforeAll(async () => {
  quietLogs(); // before the dev server creates the SDK runtime
  const uiPort = await freePort();
  server = await startDevServer({ port: await freePort(), uiPort });
  uiUrl = `http://127.0.0.1:${uiPort}`;
  e2e = await startE2eStack('webui', { temporalAddress: addressOf(server), environment: 'production' });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  await mkdir(OUTPUT, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await e2e?.close();
  await server?.teardown();
});

test('the approve signal sent from the Web UI form completes a waiting release', async () => {
  const summaryPath = path.join(e2e.stack.backendDir, 'var', 'reports', 'web-ui.json');
  const cli = startCli([
    'release',
    'db',
    '--project-root',
    e2e.stack.backendDir,
    '--environment',
    'production',
    '--non-interactive',
    '--plan',
    'starter=0',
    '--plan',
    'pro=9900',
    '--operator',
    'alice',
    '--summary-path',
    summaryPath,
    '--ui-url',
    uiUrl,
    ...e2e.temporalArgs,
  ]);
  const link = await cli.waitForStderr(/^Web UI: /);
  expect(link).toContain(`${uiUrl}/namespaces/default/workflows/db-release-production/`);

  // wait until the release stands at the gate
  const handle = e2e.ctx.client.workflow.getHandle('db-release-production');
  const status = await eventually(
    async () => {
      const view = await handle.query(statusQuery);
      return view.waitingForApproval ? view : null;
    },
    { what: 'the release to wait at the gate', timeoutMs: 60_000, intervalMs: 100 },
  );
  const digest = status.planDigest ?? '';
  expect(digest).toMatch(/^[0-9a-f]{16}$/);

  // releases waiting for a decision, by the search attributes the release is indexed under
  const waitingQuery = "DbReleaseEnvironment = 'production' AND DbReleaseStatus = 'awaiting_approval'";
  await eventually(
    async () => {
      for await (const info of e2e.ctx.client.workflow.list({ query: waitingQuery }))
        if (info.workflowId === 'db-release-production') return true;
      return false;
    },
    { what: `the release to be listed by ${waitingQuery}`, timeoutMs: 30_000, intervalMs: 100 },
  );

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // find the waiting release in the workflow list filtered by that query, as a person would
  await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(waitingQuery)}`);
  await page.getByRole('link', { name: 'db-release-production' }).first().waitFor();
  // the UI applied the query as filters on the registered attributes, and lists just this release
  await page.getByText('DbReleaseStatus = "awaiting_approval"').first().waitFor();
  await page.getByText('1 Workflow', { exact: true }).waitFor();
  await page.screenshot({ path: path.join(OUTPUT, 'waiting-releases-filtered.png'), fullPage: true });
  await page.getByRole('link', { name: 'db-release-production' }).first().click();
  await page.getByText('Running', { exact: false }).first().waitFor();

  // An approval the gate ignores (alice started the release: four-eyes) leaves a trace.
  await handle.signal('approve', { approver: 'alice', comment: 'my own release', digest });
  await eventually(async () => ((await handle.query(statusQuery)).ignoredCount ?? 0) > 0, {
    what: 'the ignored approval to be traced',
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  await page.reload();
  // The default view (the Timeline) is where an approver lands: the gate's wait says who may
  // approve and until when, and the ignored signal says why it was ignored, in timer summaries.
  expect(page.url()).not.toMatch(/user-metadata|history/);
  await page
    .getByText(/^Waiting for approval: anyone may approve, not alice \(four-eyes\), until \d{4}-/)
    .first()
    .waitFor();
  await page
    .getByText(`plan ${digest}; the plan and how to approve: User Metadata tab`, { exact: false })
    .first()
    .waitFor();
  await page
    .getByText(/Ignored approve from alice: four-eyes rule/)
    .first()
    .waitFor();
  await page.screenshot({ path: path.join(OUTPUT, 'waiting-release.png'), fullPage: true });
  // The full details (the workflow's current details) on the User Metadata tab: who may decide,
  // the deadline, the ignored decision with its reason, the plan with money as money.
  await page.getByText('User Metadata', { exact: true }).first().click();
  await page.getByText('Current Details').first().waitFor();
  // The UI renders the Markdown in a frame of its own: read the text of every frame.
  let details = '';
  await eventually(
    async () => {
      const texts: string[] = await Promise.all(
        page.frames().map((f) =>
          f
            .locator('body')
            .innerText({ timeout: 1_000 })
            .catch(() => ''),
        ),
      );
      details = texts.find((t) => t.includes('Who may approve')) ?? '';
      return details.includes('Ignored decisions (1)');
    },
    {
      what: 'the details to show the ignored decision',
      timeoutMs: 60_000,
      intervalMs: 100,
      describe: () => details,
    },
  );
  expect(details).toContain('Who may approve: anyone');
  expect(details).toContain('Four-eyes: alice started it and cannot approve it');
  expect(details).toMatch(/Decide by \d{4}-\d\d-\d\dT[\d:.]+Z \(timeout 24 hours/);
  expect(details).toContain('Ignored decisions (1):');
  expect(details).toMatch(
    /approve from alice: four-eyes rule: alice started this release and cannot approve it/,
  );
  expect(details).toMatch(/pro: 99\.00 USD\/month/);
  // who may decide comes before the plan
  expect(details.indexOf('Who may approve')).toBeLessThan(details.indexOf('Plan digest'));
  // The SQL under review, summarised (issue 17): the sample's second revision builds an index
  // without CONCURRENTLY; the approver sees the counts, the flag with its revision and statement,
  // and the command that prints the SQL whole.
  expect(details).toContain(
    'SQL review: SQL of 2 of 2 pending revision(s) rendered offline; 1 risk flag(s) (1 non-concurrent-index); policy: require-approval',
  );
  expect(details).toMatch(
    /non-concurrent-index \(require-concurrent-index-creation\) in 20251107_090000: CREATE INDEX ix_billing_plans_stripe_price_id ON billing_plans \(stripe_price_id\);/,
  );
  expect(details).toContain('db-release release status db-release-production');
  // ... and that command prints it whole: the flag, and each revision's SQL.
  const printed = await runCli(['release', 'status', 'db-release-production', ...e2e.temporalArgs]);
  expect(printed.stdout).toContain(
    'flag non-concurrent-index (require-concurrent-index-creation) in 20251107_090000: CREATE INDEX ix_billing_plans_stripe_price_id ON billing_plans (stripe_price_id);',
  );
  expect(printed.stdout).toContain('sql upgrade 20251106_120000:');
  expect(printed.stdout).toContain(
    '      ALTER TABLE billing_plans ADD COLUMN stripe_price_id VARCHAR(128);',
  );
  expect(printed.stdout).toContain('sql downgrade 20251107_090000:');
  await page.screenshot({ path: path.join(OUTPUT, 'waiting-release-details.png'), fullPage: true });

  await page.getByRole('button', { name: 'More Actions' }).first().click();
  await page.getByRole('menuitem', { name: /Send a Signal/ }).click();
  // the UI lists the signals the workflow defines (from its metadata query); pick `approve`
  const dialog = page.getByRole('dialog').filter({ hasText: 'Send a Signal' });
  await dialog.getByTestId('signal-select-button').click();
  await dialog.getByRole('option', { name: 'approve', exact: true }).click();
  const data = dialog.getByRole('textbox', { name: 'Data' });
  await data.click();
  // insertText, not typing: the JSON editor would auto-close brackets and quotes
  await page.keyboard.insertText(
    `{"approver": "bob", "comment": "approved from the Web UI", "digest": "${digest}"}`,
  );
  await dialog.getByTestId('confirm-modal-button').click();

  const done = await cli.done;
  await page.screenshot({ path: path.join(OUTPUT, 'after-approval.png'), fullPage: true });
  await page.close();
  expect(done.stderr).toContain('Release success');
  expect(done.code).toBe(0);
  const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as ReleaseSummary;
  expect(summary.approval).toMatchObject({
    decision: 'approved',
    approver: 'bob',
    comment: 'approved from the Web UI',
    via: 'signal',
  });
  expect(summary.steps.map((s) => s.status)).toEqual(['success', 'success', 'success', 'success', 'success']);
  expect(summary.sql_review?.flags.map((f) => `${f.revision} ${f.kind}`)).toEqual([
    '20251107_090000 non-concurrent-index',
  ]);
});
