import { ErrorType } from '../release/errors';
import type { AlembicRevisionResult, CommandOutcome } from '../release/types';
import type { RunResult } from '../runtime/command-runner';
import type { ActivityDeps } from './deps';
import { currentRevision } from './preflight';
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

    /** `alembic current` after the migrations: the revision the release leaves behind. */
    async captureAlembicRevision(): Promise<AlembicRevisionResult> {
      const scope = await readScope(deps);
      const current = await currentRevision(deps, scope);
      return { revision: current.raw, raw: current.raw ?? '' };
    },

    /** Compensation for runMigrations: back to the exact revision recorded before the release. */
    async downgradeMigrations(input: { toRevision: string | null }): Promise<CommandOutcome> {
      const scope = await readScope(deps);
      const config = await deps.loadConfig();
      const target = input.toRevision ?? 'base';
      // The same lock as the migrate: a downgrade never runs beside an (orphaned) upgrade.
      const result = await runBackendCommand(deps, scope, [...config.alembicCommand, 'downgrade', target], {
        exclusiveLock: MIGRATE_LOCK,
        timeoutFailureType: ErrorType.DowngradeFailed,
      });
      const outcome = outcomeOf(result);
      if (result.exitCode !== 0) {
        throw commandFailure(
          ErrorType.DowngradeFailed,
          `\`${result.commandLine}\` exited with ${result.exitCode}: ${lastLine(result.all)}; ` +
            `restore the schema to ${target} by hand (a migration without a working downgrade cannot be undone automatically)`,
          result.all,
          scope,
          outcome,
        );
      }
      const after = await currentRevision(deps, scope);
      if (after.id !== input.toRevision) {
        throw failure(
          ErrorType.DowngradeFailed,
          `after \`alembic downgrade ${target}\` the database is at ${after.id ?? 'base'}, not ${target}; fix it by hand`,
          scope,
          outcome,
        );
      }
      return outcome;
    },
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
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const wrapper = /^error: recipe|^make(\[\d+\])?: \*\*\*/i;
  const exception = [...lines].reverse().find((l) => !wrapper.test(l) && /^[\w.]*(Error|Exception|Failure)\b.*:/.test(l));
  const fallback = [...lines].reverse().find((l) => !wrapper.test(l)) ?? lines[lines.length - 1];
  return (exception ?? fallback ?? 'no output').slice(0, 500);
}
