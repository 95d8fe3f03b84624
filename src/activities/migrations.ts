import { ErrorType } from '../release/errors';
import type { AlembicRevisionResult, CommandOutcome } from '../release/types';
import type { RunResult } from '../runtime/command-runner';
import type { ActivityDeps } from './deps';
import {
  downgradeCommands,
  downgradeTargets,
  revisionSetText,
  sameRevisionSet,
  setText,
} from '../release/revisions';
import { currentRevisionSet } from './preflight';
import { commandFailure, failure, outputTail, readScope, runBackendCommand } from './support';

/** The advisory lock every schema-changing command of a release holds in the target database. */
export const MIGRATE_LOCK = 'migrate';

export function createMigrationActivities(deps: ActivityDeps) {
  return {
    /**
     * Runs the backend's migrate command (`just migrate` by default) with its env files loaded,
     * under the migrate lock: a retry after a worker crash waits for the orphaned earlier run
     * and then runs the (idempotent) command again, never beside it.
     */
    async runMigrations(): Promise<CommandOutcome> {
      const scope = await readScope(deps);
      const config = await deps.loadConfig();
      const result = await runBackendCommand(deps, scope, config.migrateCommand, {
        exclusiveLock: MIGRATE_LOCK,
        timeoutFailureType: ErrorType.MigrationFailed,
      });
      const outcome = outcomeOf(result);
      if (result.exitCode !== 0) {
        // A failing migration is deterministic (the same SQL gives the same error) unless the
        // database itself was busy or away: that one is retried.
        throw commandFailure(
          ErrorType.MigrationFailed,
          `\`${result.commandLine}\` exited with ${result.exitCode}: ${lastLine(result.all)}`,
          result.all,
          scope,
          outcome,
        );
      }
      return outcome;
    },

    /**
     * The revision set the release leaves behind, read from the version table through pg: no
     * Python process (`alembic current` started one and imported the backend's env.py).
     */
    async captureAlembicRevision(): Promise<AlembicRevisionResult> {
      const scope = await readScope(deps);
      const config = await deps.loadConfig();
      const revisions = await currentRevisionSet(deps, scope, config);
      const text = revisionSetText(revisions);
      return { revision: text, raw: text ?? '', revisions };
    },

    /**
     * Compensation for runMigrations: back to exactly the revision SET recorded before the release.
     * Alembic's downgrade takes one target and removes only that target's descendants, so a set is
     * reached by one downgrade per member not already a row (`base` for the empty set); the set is
     * read back after each command and at the end. A downgrade that fails leaves the database
     * where it stopped: the failure names that set, so nothing is restored over a new schema.
     * `{ toRevision }` is the input of releases started before the set (one id, null: base).
     */
    async downgradeMigrations(input: DowngradeInput): Promise<DowngradeOutcome> {
      const scope = await readScope(deps);
      const config = await deps.loadConfig();
      const target = targetSetOf(input);
      const wanted = setText(target);
      let current = await currentRevisionSet(deps, scope, config);
      const outcomes: CommandOutcome[] = [];
      for (const to of downgradeTargets(target, current)) {
        // The same lock as the migrate: a downgrade never runs beside an (orphaned) upgrade.
        const result = await runBackendCommand(deps, scope, [...config.alembicCommand, 'downgrade', to], {
          exclusiveLock: MIGRATE_LOCK,
          timeoutFailureType: ErrorType.DowngradeFailed,
        });
        const outcome = outcomeOf(result);
        outcomes.push(outcome);
        if (result.exitCode !== 0) {
          current = await currentRevisionSet(deps, scope, config);
          throw commandFailure(
            ErrorType.DowngradeFailed,
            `\`${result.commandLine}\` exited with ${result.exitCode}: ${lastLine(result.all)}; the database stayed at ${setText(current)} ` +
              `(wanted ${wanted}): fix or replace the failing downgrade, then run ${commandsText(config.alembicCommand, target, current)}, or restore from backup`,
            result.all,
            scope,
            { ...combined(outcomes), revisions: current },
          );
        }
        current = await currentRevisionSet(deps, scope, config);
      }
      const outcome = { ...combined(outcomes), revisions: current };
      if (!sameRevisionSet(current, target)) {
        throw failure(
          ErrorType.DowngradeFailed,
          `after ${outcomes.length > 0 ? `\`${outcome.command}\`` : 'no downgrade'} the database is at ${setText(current)}, not ${wanted}; ` +
            `bring it to ${wanted} by hand (${commandsText(config.alembicCommand, target, current)}, or restore from backup)`,
          scope,
          outcome,
        );
      }
      return outcome;
    },
  };
}

/** Old input (one revision, null: base) or the set. */
export type DowngradeInput = { toRevisions: string[] } | { toRevision: string | null };

export type DowngradeOutcome = CommandOutcome & { revisions: string[] };

function targetSetOf(input: DowngradeInput): string[] {
  if ('toRevisions' in input) return [...input.toRevisions].sort();
  return input.toRevision ? [input.toRevision] : [];
}

function commandsText(
  alembicCommand: readonly string[],
  target: readonly string[],
  current: readonly string[],
): string {
  const commands = downgradeCommands(alembicCommand, target, current);
  return commands.length > 0 ? commands.map((c) => `\`${c}\``).join(' then ') : 'nothing (already there)';
}

/** Several downgrade commands recorded as one outcome: their lines, the last exit code, the summed time. */
function combined(outcomes: CommandOutcome[]): CommandOutcome {
  if (outcomes.length === 0)
    return {
      command: 'none: already at the recorded revision set',
      exitCode: 0,
      durationMs: 0,
      output: '',
      logFile: null,
    };
  const last = outcomes[outcomes.length - 1] as CommandOutcome;
  return {
    command: outcomes.map((o) => o.command).join(' && '),
    exitCode: last.exitCode,
    durationMs: outcomes.reduce((sum, o) => sum + o.durationMs, 0),
    output: outcomes
      .map((o) => o.output)
      .filter(Boolean)
      .join('\n')
      .slice(-4000),
    logFile: last.logFile ?? null,
  };
}

/** What a command did, as recorded in history: its line, exit code, duration and redacted output tail. */
function outcomeOf(result: RunResult & { commandLine: string }): CommandOutcome {
  return {
    command: result.commandLine,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    output: outputTail(result),
    logFile: result.logFile ?? null,
  };
}

/**
 * The most telling line of a failed command: the last exception line of the traceback (a task
 * runner's own "recipe failed" line says nothing), else the last non-empty line.
 */
export function lastLine(text: string): string {
  const lines = text
    .trim()
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const wrapper = /^error: recipe|^make(\[\d+\])?: \*\*\*/i;
  const exception = [...lines]
    .reverse()
    .find((l) => !wrapper.test(l) && /^[\w.]*(Error|Exception|Failure)\b.*:/.test(l));
  const fallback = [...lines].reverse().find((l) => !wrapper.test(l)) ?? lines[lines.length - 1];
  return (exception ?? fallback ?? 'no output').slice(0, 500);
}
