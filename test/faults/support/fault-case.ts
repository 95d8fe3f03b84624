/**
 * One fault case on a real stack of its own: a fresh database (on the main server or a
 * throwaway cluster), a Stripe peer behind a timing proxy, a backend copy with tracked
 * migrations, and a worker as a separate OS process on its own task queue. The case drives a
 * release through the compiled CLI, breaks something for real, and then checks the end state
 * it finds against what the release's summary says, printing that state when a check fails.
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { summaryFromFailure } from '../../../src/cli/release-runs';
import {
  PEER_SECRET_KEY,
  PEER_WEBHOOK_SECRET,
  SAMPLE_DB_PASSWORD,
  startStack,
  type DevStack,
} from '../../../src/devstack/stack';
import { lookupKeyFor, PLAN_CODE_METADATA_KEY } from '../../../src/release/plans';
import { exitCodeFor } from '../../../src/release/summary';
import type { ReleaseSummary } from '../../../src/release/types';
import { releaseWorkflowId, statusQuery } from '../../../src/workflows/messages';
import { startCli, type CliResult, type CliRun } from '../../support/cli';
import { historyText } from '../../support/history';
import { quietLogs, testAddress } from '../../support/temporal';
import { eventually } from './eventually';
import {
  migrationRuns,
  writeTrackedMigrations,
  type MigrationRuns,
  type TrackedMigration,
} from './migrations';
import type { PgCluster } from './pg-cluster';
import { killAll, processesWithMarker, WorkerProcess } from './processes';
import { recordResult, type CaseResult } from './results';
import { StripeProxy, type HeldRequest } from './stripe-proxy';

export const PLAN_CODES = ['starter', 'pro'] as const;
const DEFAULT_PLANS = ['starter=0', 'pro=9900'];
const PendingState = temporal.api.enums.v1.PendingActivityState;

export interface CaseSpec {
  /** Short id, [a-z0-9-]: names the environment, database, task queue and temp dir. */
  id: string;
  title: string;
  /** Which fix the case depends on, printed in the closing table when it fails. */
  dependsOn: string;
  migrations: TrackedMigration[];
  /** The environment requires approval (four-eyes off; alice starts, bob approves). */
  approval?: boolean;
  /** A Temporal server of the case's own; default the suite's shared dev server. */
  temporalAddress?: string;
  /** The database lives on this throwaway cluster instead of the main server. */
  cluster?: PgCluster;
  plans?: string[];
}

export interface EndState {
  alembicVersion: string[];
  tables: string[];
  envLocal: string;
  priceIds: Record<string, string | null>;
  stripe: {
    activeProducts: Array<{ id: string; code: string | null; name: string }>;
    activePrices: Array<{
      id: string;
      product: string;
      lookupKey: string | null;
      amount: number | null;
      productActive: boolean;
    }>;
    /** Every price holding a release lookup key, active or not. */
    lookupKeyHolders: Record<string, Array<{ id: string; active: boolean }>>;
  };
}

export interface Outcome {
  cli: CliResult;
  summary: ReleaseSummary | null;
}

interface Check {
  what: string;
  ok: boolean;
  found: unknown;
  expected: unknown;
}

const TABLES_IGNORED = /^(alembic_version|db_release.*)$/;

export class FaultCase {
  readonly environment: string;
  readonly workflowId: string;
  readonly marker = `FAULTS_CASE_MARKER=${randomUUID()}`;
  readonly cliResults: CliResult[] = [];
  readonly extraSecrets: string[] = [];
  /** Workers beyond the first, polling the same task queue (a second machine). */
  readonly standbyWorkers: WorkerProcess[] = [];
  readonly notes: string[] = [];
  before!: EndState;
  head = '';
  private summaryCount = 0;
  private readonly started = Date.now();
  private checks: Check[] = [];
  private expectedTables: string[] = [];
  private databaseUrl = '';

  private constructor(
    readonly spec: CaseSpec,
    readonly dir: string,
    readonly stack: DevStack,
    readonly proxy: StripeProxy,
    readonly worker: WorkerProcess,
    readonly client: Client,
    private readonly connection: Connection,
    readonly address: string,
  ) {
    this.environment = `faults-${spec.id}`;
    this.workflowId = releaseWorkflowId(this.environment);
  }

  get backendDir(): string {
    return this.stack.backendDir;
  }

  get envLocalPath(): string {
    return path.join(this.backendDir, '.env.local');
  }

  static async start(spec: CaseSpec): Promise<FaultCase> {
    quietLogs();
    const address = spec.temporalAddress ?? testAddress();
    const dir = await mkdtemp(path.join(os.tmpdir(), `db-release-faults-${spec.id}-`));
    const suffix = randomUUID().slice(0, 6);
    const databaseName = `dbr_faults_${spec.id.replace(/-/g, '_')}_${suffix}`;
    const environment = `faults-${spec.id}`;
    const stack = await startStack({
      name: databaseName,
      backendDir: path.join(dir, 'backend'),
      temporal: { address },
      environment,
    });
    const proxy = await StripeProxy.start(stack.stripe.url);
    const taskQueue = `faults-${spec.id}-${suffix}`;
    const worker = new WorkerProcess({
      backendDir: stack.backendDir,
      address,
      taskQueue,
      logFile: path.join(dir, 'worker.log'),
    });
    const connection = await Connection.connect({ address });
    const c = new FaultCase(spec, dir, stack, proxy, worker, new Client({ connection }), connection, address);
    c.databaseUrl = stack.databaseUrl;
    try {
      await c.prepareBackend(databaseName);
      await worker.start();
      c.before = await c.snapshot();
    } catch (error) {
      // nothing of a case that could not start may outlive it (a worker still bundling, the peer)
      c.keepFiles();
      await c.close();
      throw error;
    }
    return c;
  }

  /** The Stripe base goes through the proxy, a marker tags every process the backend's commands start. */
  private async prepareBackend(databaseName: string): Promise<void> {
    let env = await readFile(this.envLocalPath, 'utf8');
    env = env.replace(/^STRIPE_API_BASE=.*$/m, `STRIPE_API_BASE=${this.proxy.url}`);
    if (this.spec.cluster) {
      await this.spec.cluster.createDatabase(databaseName);
      env = env.replace(/@127\.0\.0\.1:\d+\//, `@127.0.0.1:${this.spec.cluster.port}/`);
      this.databaseUrl = this.spec.cluster.urlFor(databaseName);
    }
    env += `${this.marker}\n`;
    await writeFile(this.envLocalPath, env, { mode: 0o600 });
    this.head = await writeTrackedMigrations(this.backendDir, this.spec.migrations);
    this.expectedTables = [
      ...(await sampleTables(this.backendDir)),
      ...this.spec.migrations.flatMap((m) => m.creates),
    ];
    if (this.spec.approval) {
      const file = path.join(this.backendDir, 'release.config.json');
      const config = JSON.parse(await readFile(file, 'utf8')) as { environments?: Record<string, unknown> };
      config.environments = {
        ...(config.environments ?? {}),
        [this.environment]: { approval: { required: true, fourEyes: true } },
      };
      await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    }
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: this.backendDir,
        stdio: 'ignore',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 'faults',
          GIT_AUTHOR_EMAIL: 'faults@localhost',
          GIT_COMMITTER_NAME: 'faults',
          GIT_COMMITTER_EMAIL: 'faults@localhost',
        },
      });
    git('add', 'migrations', 'release.config.json');
    git('commit', '-q', '-m', `fault case ${this.spec.id}`);
  }

  // -------------------------------------------------------------------------------------------
  // Driving the release

  temporalArgs(): string[] {
    return ['--address', this.address, '--task-queue', this.worker.options.taskQueue];
  }

  /** `release db` through the compiled CLI, non-interactive, started by alice. */
  startRelease(extra: string[] = []): CliRun & { summaryPath: string } {
    this.summaryCount += 1;
    const summaryPath = path.join(this.backendDir, 'var', 'reports', `faults-${this.summaryCount}.json`);
    const run = this.cli([
      'release',
      'db',
      '--project-root',
      this.backendDir,
      '--environment',
      this.environment,
      '--non-interactive',
      ...(this.spec.plans ?? DEFAULT_PLANS).flatMap((p) => ['--plan', p]),
      '--operator',
      'alice',
      '--summary-path',
      summaryPath,
      ...this.temporalArgs(),
      ...extra,
    ]);
    return { ...run, summaryPath };
  }

  /** Any CLI command; its output is kept for the secret scan. */
  cli(args: string[]): CliRun {
    const run = startCli(args);
    void run.done.then((r) => this.cliResults.push(r));
    return run;
  }

  async runCli(args: string[]): Promise<CliResult> {
    return this.cli(args).done;
  }

  /** Waits (bounded) for a CLI run to end; on timeout, says where the release stood. */
  async outcomeOf(run: CliRun & { summaryPath: string }, timeoutMs: number): Promise<Outcome> {
    let result: CliResult | null = null;
    void run.done.then((r) => (result = r));
    await eventually(() => result, {
      timeoutMs,
      intervalMs: 500,
      what: `the CLI release of ${this.environment} to end`,
      describe: () => this.describeRelease(),
    });
    const cli = result as unknown as CliResult;
    let summary: ReleaseSummary | null = null;
    try {
      summary = JSON.parse(await readFile(run.summaryPath, 'utf8')) as ReleaseSummary;
    } catch {
      summary = await this.workflowSummary();
      this.notes.push('the CLI wrote no summary file; the workflow result was read instead');
    }
    return { cli, summary };
  }

  async workflowSummary(): Promise<ReleaseSummary | null> {
    try {
      return (await this.client.workflow.getHandle(this.workflowId).result()) as ReleaseSummary;
    } catch (error) {
      return summaryFromFailure(error);
    }
  }

  async describeRelease(): Promise<string> {
    const d = await this.client.workflow.getHandle(this.workflowId).describe();
    const pending = (d.raw.pendingActivities ?? []).map((a) => ({
      type: a.activityType?.name,
      state: PendingState[a.state ?? 0],
      attempt: a.attempt,
      lastFailure: a.lastFailure?.message,
    }));
    return JSON.stringify({
      status: d.status.name,
      pending,
      worker: { alive: this.worker.alive, starts: this.worker.starts, log: this.worker.tail(1500) },
    });
  }

  /** Starts another worker on the case's task queue and waits until it is ready. */
  async startStandbyWorker(): Promise<WorkerProcess> {
    const n = this.standbyWorkers.length + 2;
    const standby = new WorkerProcess({
      ...this.worker.options,
      logFile: path.join(this.dir, `worker-${n}.log`),
    });
    this.standbyWorkers.push(standby);
    await standby.start();
    return standby;
  }

  /** The worker process running an activity of this type now (from its identity, pid@host), if it is one of ours. */
  async workerRunning(type: string): Promise<WorkerProcess | null> {
    const d = await this.client.workflow.getHandle(this.workflowId).describe();
    const activity = (d.raw.pendingActivities ?? []).find(
      (a) => a.activityType?.name === type && a.state === PendingState.PENDING_ACTIVITY_STATE_STARTED,
    );
    const pid = Number(/^(\d+)@/.exec(activity?.lastWorkerIdentity ?? '')?.[1] ?? NaN);
    return [this.worker, ...this.standbyWorkers].find((w) => w.pid === pid) ?? null;
  }

  /** True when an activity of this type has been picked up by a worker and is running. */
  async activityRunning(type: string): Promise<boolean> {
    const d = await this.client.workflow.getHandle(this.workflowId).describe();
    return (d.raw.pendingActivities ?? []).some(
      (a) => a.activityType?.name === type && a.state === PendingState.PENDING_ACTIVITY_STATE_STARTED,
    );
  }

  /** True once an attempt of this activity is running or has failed (a retry is pending). */
  async activityAttempted(type: string): Promise<boolean> {
    const d = await this.client.workflow.getHandle(this.workflowId).describe();
    return (d.raw.pendingActivities ?? []).some(
      (a) =>
        a.activityType?.name === type &&
        (a.state === PendingState.PENDING_ACTIVITY_STATE_STARTED || Boolean(a.lastFailure)),
    );
  }

  async waitForActivity(type: string, timeoutMs = 6 * 60_000): Promise<void> {
    await eventually(() => this.activityRunning(type), {
      timeoutMs,
      intervalMs: 100,
      what: `activity ${type} of ${this.workflowId} to be running`,
      describe: () => this.describeRelease(),
    });
  }

  async waitAtGate(timeoutMs = 6 * 60_000): Promise<void> {
    await eventually(
      async () =>
        (await this.client.workflow.getHandle(this.workflowId).query(statusQuery)).waitingForApproval,
      {
        timeoutMs,
        intervalMs: 250,
        what: `${this.workflowId} to wait at the approval gate`,
        describe: () => this.describeRelease(),
      },
    );
  }

  async waitForMigrationStart(revision: string, timeoutMs = 6 * 60_000): Promise<void> {
    await eventually(async () => ((await migrationRuns(this.backendDir)).starts[revision] ?? 0) > 0, {
      timeoutMs,
      intervalMs: 200,
      what: `tracked migration ${revision} to start`,
      describe: () => this.describeRelease(),
    });
  }

  /** Pauses every alembic invocation at import while set (see migrations.ts). */
  async holdAlembic(on: boolean): Promise<void> {
    const file = path.join(this.backendDir, 'var', 'faults-hold-alembic');
    if (on) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, 'held by the fault suite\n');
    } else {
      await rm(file, { force: true });
    }
  }

  /**
   * Holds the next Stripe request matching `match` that arrives while `activity` runs (requests
   * of other activities pass), bounded by `timeoutMs`.
   */
  async holdDuring(
    activity: string,
    match: (method: string, path: string) => boolean,
    when: 'before' | 'after',
    timeoutMs = 6 * 60_000,
  ): Promise<HeldRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let held: HeldRequest | null = null;
      void this.proxy.hold(match, when).then((h) => (held = h));
      await eventually(() => held, {
        timeoutMs: Math.max(1_000, deadline - Date.now()),
        intervalMs: 50,
        what: `a Stripe request matching ${String(match)} during ${activity}`,
        describe: () => this.describeRelease(),
      });
      const got = held as unknown as HeldRequest;
      if (await this.activityRunning(activity)) return got;
      got.release();
    }
  }

  /** Takes the state the checks compare with again (after a case changed the backend on purpose). */
  async rebase(): Promise<void> {
    this.before = await this.snapshot();
  }

  get databaseUrlForTests(): string {
    return this.databaseUrl;
  }

  injectStripeFault(fault: {
    method?: string;
    pathPrefix: string;
    bodyIncludes?: string;
    status: number;
    times?: number;
    type?: string;
    code?: string;
    message?: string;
  }): void {
    this.stack.stripe.injectFault(fault);
  }

  async clearStripeFaults(): Promise<void> {
    const response = await fetch(`${this.stack.stripe.url}/_peer/faults`, { method: 'DELETE' });
    if (!response.ok) this.notes.push(`clearing peer faults answered ${response.status}`);
  }

  async query<R extends object>(sql: string, params?: unknown[]): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reading the end state

  async snapshot(): Promise<EndState> {
    const tables = (
      await this.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
      )
    ).map((r) => r.table_name);
    const alembicVersion = tables.includes('alembic_version')
      ? (
          await this.query<{ version_num: string }>(
            'select version_num from alembic_version order by version_num',
          )
        ).map((r) => r.version_num)
      : [];
    const priceIds = tables.includes('billing_plans')
      ? Object.fromEntries(
          (
            await this.query<{ code: string; stripe_price_id: string | null }>(
              'select code, stripe_price_id from billing_plans order by code',
            )
          ).map((r) => [r.code, r.stripe_price_id]),
        )
      : {};
    const peer = this.stack.stripe.state();
    const productActive = new Map(peer.products.map((p) => [p.id, p.active]));
    const lookupKeyHolders: EndState['stripe']['lookupKeyHolders'] = {};
    for (const code of PLAN_CODES) {
      const key = lookupKeyFor(code);
      lookupKeyHolders[key] = peer.prices
        .filter((p) => p.lookup_key === key)
        .map((p) => ({ id: p.id, active: p.active }));
    }
    return {
      alembicVersion,
      tables,
      envLocal: await readFile(this.envLocalPath, 'utf8'),
      priceIds,
      stripe: {
        activeProducts: peer.products
          .filter((p) => p.active)
          .map((p) => ({ id: p.id, code: p.metadata[PLAN_CODE_METADATA_KEY] ?? null, name: p.name })),
        activePrices: peer.prices
          .filter((p) => p.active)
          .map((p) => ({
            id: p.id,
            product: p.product,
            lookupKey: p.lookup_key,
            amount: p.unit_amount,
            productActive: productActive.get(p.product) ?? false,
          })),
        lookupKeyHolders,
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Checks

  private check(what: string, ok: boolean, found: unknown, expected: unknown): void {
    this.checks.push({ what, ok, found, expected });
  }

  /** The CLI's exit code is the one its summary's status calls for (and `code` when given). */
  checkExit(outcome: Outcome, statuses: string[], code?: number): void {
    const status = outcome.summary?.status ?? null;
    this.check('summary status', status !== null && statuses.includes(status), status, statuses);
    const expectedCode = code ?? (status ? exitCodeFor(status) : null);
    this.check('CLI exit code', outcome.cli.code === expectedCode, outcome.cli.code, expectedCode);
  }

  /** The release went through: schema at head, one active price per lookup key, price ids everywhere. */
  checkReleased(state: EndState, outcome: Outcome): void {
    this.check('alembic_version rows', sameList(state.alembicVersion, [this.head]), state.alembicVersion, [
      this.head,
    ]);
    const missing = this.expectedTables.filter((t) => !state.tables.includes(t));
    const extra = state.tables.filter(
      (t) => !this.expectedTables.includes(t) && !TABLES_IGNORED.test(t) && !this.before.tables.includes(t),
    );
    this.check('tables', missing.length === 0 && extra.length === 0, { missing, extra }, this.expectedTables);
    const map: Record<string, string> = {};
    for (const code of PLAN_CODES) {
      const key = lookupKeyFor(code);
      const holders = state.stripe.activePrices.filter((p) => p.lookupKey === key);
      const products = state.stripe.activeProducts.filter((p) => p.code === code);
      this.check(
        `one active price holds ${key}`,
        holders.length === 1 && holders[0]?.productActive === true,
        holders,
        '1 active price on an active product',
      );
      this.check(`one active product for plan ${code}`, products.length === 1, products, 1);
      if (holders[0]) map[code] = holders[0].id;
    }
    const dup = duplicatesOrLeaks(state);
    this.check('no duplicate or leaked Stripe objects', dup.count === 0, dup.objects, []);
    const envMap = /^STRIPE_PRODUCT_PRICE_MAP=(.*)$/m.exec(state.envLocal)?.[1] ?? null;
    let parsed: unknown = null;
    try {
      parsed = envMap ? JSON.parse(envMap.replace(/^'(.*)'$/, '$1')) : null;
    } catch {
      parsed = envMap;
    }
    this.check('.env.local STRIPE_PRODUCT_PRICE_MAP', sameJson(parsed, map), parsed, map);
    const untouched = (text: string) =>
      text
        .split('\n')
        .filter((l) => !/^(STRIPE_PRODUCT_PRICE_MAP|ENABLE_BILLING)=/.test(l))
        .join('\n');
    this.check(
      '.env.local other lines byte for byte',
      untouched(state.envLocal) === untouched(this.before.envLocal),
      untouched(state.envLocal),
      untouched(this.before.envLocal),
    );
    const priceIds = Object.fromEntries(PLAN_CODES.map((c) => [c, state.priceIds[c] ?? null]));
    this.check('billing_plans.stripe_price_id', sameJson(priceIds, map), priceIds, map);
    const summaryMap = outcome.summary?.stripe_price_map ?? null;
    this.check('summary price map is the one read back', sameJson(summaryMap, map), summaryMap, map);
    this.dupCount += dup.count;
  }

  /** Nothing the release changed is left: the state before it, byte for byte where it matters. */
  checkUnchanged(state: EndState): void {
    const b = this.before;
    this.check(
      'alembic_version rows as before',
      sameList(state.alembicVersion, b.alembicVersion),
      state.alembicVersion,
      b.alembicVersion,
    );
    const tables = (t: string[]) => t.filter((x) => !TABLES_IGNORED.test(x));
    this.check('tables as before', sameList(tables(state.tables), tables(b.tables)), state.tables, b.tables);
    this.check('.env.local bytes as before', state.envLocal === b.envLocal, state.envLocal, b.envLocal);
    this.check(
      'billing_plans.stripe_price_id as before',
      sameJson(state.priceIds, b.priceIds),
      state.priceIds,
      b.priceIds,
    );
    const ids = (s: EndState) =>
      [...s.stripe.activeProducts.map((p) => p.id), ...s.stripe.activePrices.map((p) => p.id)].sort();
    const leaked = ids(state).filter((id) => !ids(b).includes(id));
    this.check('no Stripe object left active by the release', leaked.length === 0, leaked, []);
    const holders = (s: EndState) =>
      Object.fromEntries(
        Object.entries(s.stripe.lookupKeyHolders).map(([k, v]) => [
          k,
          v.filter((h) => h.active).map((h) => h.id),
        ]),
      );
    this.check(
      'lookup keys held as before',
      sameJson(holders(state), holders(b)),
      holders(state),
      holders(b),
    );
    this.dupCount += Math.max(leaked.length, duplicatesOrLeaks(state).count);
  }

  /** For outcomes where either end is right (a budget decides), the state must match the one reported. */
  checkConsistent(state: EndState, outcome: Outcome): void {
    if (outcome.summary?.status === 'success') this.checkReleased(state, outcome);
    else this.checkUnchanged(state);
  }

  checkSummaryError(outcome: Outcome, pattern: RegExp, type?: string): void {
    const error = outcome.summary?.error ?? null;
    this.check(`summary error says ${pattern}`, pattern.test(error?.message ?? ''), error, String(pattern));
    if (type) this.check('summary error type', error?.type === type, error?.type ?? null, type);
  }

  expect(what: string, ok: boolean, found: unknown, expected: unknown): void {
    this.check(what, ok, found, expected);
  }

  private dupCount = 0;
  private ranTwice = 0;
  private secretHits: string[] = [];
  private leftovers: Array<{ pid: number; command: string }> = [];
  private runs: MigrationRuns | null = null;

  /** Checks every case makes: no migration ran twice, no process outlived the release, no secret leaked. */
  async checkCommon(): Promise<void> {
    this.runs = await migrationRuns(this.backendDir);
    this.ranTwice = this.runs.ranTwice;
    this.check(
      'no migration ran twice (tracked upgrades: overlaps + extra completions)',
      this.runs.ranTwice === 0,
      this.runs.lines,
      'one completed upgrade each, no overlap',
    );
    // A migrate process tree must not outlive the release (bounded: a kill's grace period).
    try {
      await eventually(async () => (await processesWithMarker(this.marker)).length === 0, {
        timeoutMs: 20_000,
        intervalMs: 500,
        what: 'no process of the case left',
      });
    } catch {
      // recorded below
    }
    this.leftovers = await processesWithMarker(this.marker);
    this.check('no migrate process left running', this.leftovers.length === 0, this.leftovers, []);
    this.secretHits = await this.scanSecrets();
    this.check(
      'no secret in histories, worker log, reports or CLI output',
      this.secretHits.length === 0,
      this.secretHits,
      [],
    );
  }

  /** Full secret values found anywhere an operator or a Web UI user can read them. */
  async scanSecrets(): Promise<string[]> {
    const secrets: Array<[string, string]> = [
      ['Stripe secret key', PEER_SECRET_KEY],
      ['webhook secret', PEER_WEBHOOK_SECRET],
      ['database password', SAMPLE_DB_PASSWORD],
      ...this.extraSecrets.map((s): [string, string] => ['extra secret', s]),
    ];
    const places: Array<[string, string]> = [];
    try {
      for await (const execution of this.client.workflow.list({
        query: `WorkflowId = '${this.workflowId}'`,
      })) {
        places.push([
          `history of run ${execution.runId}`,
          await historyText(this.client, this.workflowId, execution.runId),
        ]);
      }
    } catch (error) {
      this.notes.push(`histories could not all be read: ${String(error)}`);
    }
    for (const w of [this.worker, ...this.standbyWorkers])
      places.push([
        `worker log ${path.basename(w.logFile)}`,
        await readFile(w.logFile, 'utf8').catch(() => ''),
      ]);
    for (const file of await filesUnder(path.join(this.backendDir, 'var'))) {
      if (/faults-(migration-runs|running|hold)/.test(file)) continue;
      places.push([path.relative(this.backendDir, file), await readFile(file, 'utf8').catch(() => '')]);
    }
    this.cliResults.forEach((r, i) =>
      places.push([`CLI run ${i + 1} stdout+stderr`, `${r.stdout}\n${r.stderr}`]),
    );
    const hits: string[] = [];
    for (const [place, text] of places)
      for (const [name, value] of secrets) if (text.includes(value)) hits.push(`${name} in ${place}`);
    return hits;
  }

  /** Records the case for the closing table and fails with the end state when a check failed. */
  async finish(outcome: Outcome | null, state: EndState | null): Promise<void> {
    const failed = this.checks.filter((c) => !c.ok);
    await this.record(failed.length === 0, failed.map((c) => c.what).join('; '), outcome);
    if (failed.length > 0) {
      throw new Error(
        [
          `fault case ${this.spec.id} (${this.spec.title}) did not survive; depends on: ${this.spec.dependsOn}`,
          ...failed.map(
            (c) => `  FAILED ${c.what}\n    found:    ${short(c.found)}\n    expected: ${short(c.expected)}`,
          ),
          `summary: status ${outcome?.summary?.status ?? '-'}, error ${short(outcome?.summary?.error ?? null)}, compensations ${short(outcome?.summary?.compensations ?? [])}`,
          `CLI exit ${String(outcome?.cli.code)}; stderr tail: ${outcome?.cli.stderr.slice(-1500) ?? '-'}`,
          `end state found: ${short(state, 4000)}`,
          `before: ${short(this.before, 2000)}`,
          ...(this.notes.length ? [`notes: ${this.notes.join('; ')}`] : []),
          `worker log: ${this.worker.logFile} (kept: ${this.dir})`,
        ].join('\n'),
      );
    }
  }

  async record(survived: boolean, failure: string, outcome: Outcome | null): Promise<void> {
    const result: CaseResult = {
      id: this.spec.id,
      title: this.spec.title,
      dependsOn: this.spec.dependsOn,
      survived,
      failure,
      status: outcome?.summary?.status ?? null,
      exitCode: outcome?.cli.code ?? null,
      migrationsRanTwice: this.ranTwice,
      duplicateOrLeakedStripe: this.dupCount,
      secretsFound: this.secretHits.length,
      leftoverProcesses: this.leftovers.length,
      seconds: Math.round((Date.now() - this.started) / 1000),
    };
    await recordResult(result);
  }

  private keep = false;
  keepFiles(): void {
    this.keep = true;
  }

  async close(): Promise<void> {
    this.proxy.disarm();
    await this.holdAlembic(false).catch(() => undefined);
    killAll((await processesWithMarker(this.marker)).map((p) => p.pid));
    const handle = this.client.workflow.getHandle(this.workflowId);
    const description = await handle.describe().catch(() => null);
    if (description?.status.name === 'RUNNING')
      await handle.terminate('fault suite cleanup').catch(() => undefined);
    await this.worker.close();
    for (const w of this.standbyWorkers) await w.close();
    await this.proxy.close();
    await this.connection.close().catch(() => undefined);
    await this.stack.close({ dropDatabase: !this.spec.cluster });
    if (!this.keep) await rm(this.dir, { recursive: true, force: true });
  }
}

function sameList(a: string[], b: string[]): boolean {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}

function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([k, x]) => [k, canon(x)]),
        )
      : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

function short(value: unknown, max = 1200): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
  return text === undefined ? String(value) : text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Active objects beyond one per plan: a second active product per code, a second active price per product, an active price on an archived product. */
export function duplicatesOrLeaks(state: EndState): { count: number; objects: string[] } {
  const objects: string[] = [];
  for (const code of PLAN_CODES) {
    const products = state.stripe.activeProducts.filter((p) => p.code === code);
    products.slice(1).forEach((p) => objects.push(`second active product ${p.id} for ${code}`));
  }
  const perProduct = new Map<string, string[]>();
  for (const price of state.stripe.activePrices) {
    if (!price.productActive) objects.push(`active price ${price.id} on archived product ${price.product}`);
    perProduct.set(price.product, [...(perProduct.get(price.product) ?? []), price.id]);
  }
  for (const [product, prices] of perProduct)
    prices.slice(1).forEach((p) => objects.push(`second active price ${p} on ${product}`));
  return { count: objects.length, objects };
}

/** Tables the sample backend's own migrations create, read from their source. */
async function sampleTables(backendDir: string): Promise<string[]> {
  const dir = path.join(backendDir, 'migrations', 'versions');
  const tables: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.py') && !f.endsWith('_faults.py'))) {
    const text = await readFile(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/op\.create_table\(\s*["'](\w+)["']/g)) if (m[1]) tables.push(m[1]);
  }
  return tables;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry);
    const info = await stat(full).catch(() => null);
    if (info?.isDirectory()) out.push(...(await filesUnder(full)));
    else if (info?.isFile()) out.push(full);
  }
  return out;
}

/**
 * Runs one case: start its stack, run `body`, always close. A case that breaks before its
 * checks (a kill that could not be timed, a stack that did not start) is recorded as not
 * survived with the reason.
 */
export async function runCase(spec: CaseSpec, body: (c: FaultCase) => Promise<void>): Promise<void> {
  let c: FaultCase | null = null;
  const started = Date.now();
  try {
    c = await FaultCase.start(spec);
    await body(c);
  } catch (error) {
    c?.keepFiles();
    if (!(error instanceof Error && error.message.startsWith(`fault case ${spec.id} `))) {
      await recordResult({
        id: spec.id,
        title: spec.title,
        dependsOn: spec.dependsOn,
        survived: false,
        failure: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'error',
        status: null,
        exitCode: null,
        migrationsRanTwice: 0,
        duplicateOrLeakedStripe: 0,
        secretsFound: 0,
        leftoverProcesses: 0,
        seconds: Math.round((Date.now() - started) / 1000),
      });
    }
    throw error;
  } finally {
    await c?.close();
  }
}
