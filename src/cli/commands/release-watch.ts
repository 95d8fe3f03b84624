/** `db-release release watch <id-or-environment>`: follows a release (or a rollback) until it ends; Ctrl-C detaches. */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { EXIT_CODES, exitCodeFor } from '../../release/summary';
import type { ReleaseSummary } from '../../release/types';
import type { ReleaseStatusView, RollbackStatusView } from '../../workflows/messages';
import type { TemporalFlags } from '../connection';
import { finishedView, followLive, LiveDisplay, pause, renderLiveView } from '../live-view';
import { action, err, liveTerminal, onInterrupt, out, temporalOptions, withClient } from '../program';
import { latestStatus, releaseIdOf, releaseSummary } from '../release-runs';
import { describeRollback, describeStatus, rollbackNoteLine } from '../status-lines';

export interface WatchOutput {
  /** Plain lines (a log, a pipe): one per change of state. */
  print: (line: string) => void;
  /** A terminal: the block is redrawn in place instead. */
  live?: { write: (text: string) => void; columns: () => number; rows?: () => number };
}

export type WatchOutcome =
  | { kind: 'ended'; summary: ReleaseSummary }
  | { kind: 'rollback'; status: RollbackStatusView['state'] }
  | { kind: 'detached' };

/** `release watch`: follows a release until it ends, or until the signal (Ctrl-C) detaches. */
export async function watchRelease(
  client: Client,
  idOrEnvironment: string,
  output: WatchOutput,
  signal: AbortSignal,
  pollMs = 1_000,
): Promise<WatchOutcome> {
  const id = releaseIdOf(idOrEnvironment);
  const latest = await latestStatus(client, id);
  if (latest.kind === 'rollback') return watchRollback(client, id, output, signal);
  // The summary of the release once it has ended, kept from the poll that saw it end.
  let ended: ReleaseSummary | null = latest.running ? null : latest.view.summary;
  // A later rollback of the release, shown beside its final state.
  let rollback = latest.kind === 'release' ? latest.view.rollback : undefined;
  const running = async (): Promise<ReleaseStatusView | null> => {
    const status = await latestStatus(client, id);
    if (status.kind === 'release' && status.running) return status.view;
    if (status.kind === 'release') {
      ended = status.view.summary;
      rollback = status.view.rollback;
    }
    return null;
  };
  let display: LiveDisplay | null = null;
  const seen = new Set<string>();
  if (ended) {
    // already over: only the final state below
  } else if (output.live) {
    display = new LiveDisplay(output.live.write, output.live.columns, output.live.rows);
    // Ends at 'done' or when the workflow is no longer running (query returns null, last view kept).
    const ended = new AbortController();
    signal.addEventListener('abort', () => ended.abort(), { once: true });
    await followLive(
      async () => {
        const view = await running();
        if (!view) ended.abort();
        return view;
      },
      display,
      ended.signal,
      Math.min(pollMs, 500),
    );
  } else {
    while (!signal.aborted) {
      const view = await running();
      if (!view) break;
      for (const line of describeStatus(view)) {
        if (!seen.has(line)) {
          seen.add(line);
          output.print(line);
        }
      }
      await pause(pollMs, signal);
    }
  }
  if (signal.aborted) return { kind: 'detached' };
  const summary = ended ?? (await releaseSummary(client, id));
  display ??= output.live ? new LiveDisplay(output.live.write, output.live.columns, output.live.rows) : null;
  // The final state, once: redrawn on a terminal, the lines not printed yet in a log.
  const final: ReleaseStatusView = { ...finishedView(summary), ...(rollback ? { rollback } : {}) };
  if (display) display.update(renderLiveView(final, new Date()));
  else for (const line of describeStatus(final)) if (!seen.has(line)) output.print(line);
  output.print(`release ${summary.status}`);
  return { kind: 'ended', summary };
}

/** A rollback is short: plain lines as its compensations complete, on a terminal too. */
async function watchRollback(
  client: Client,
  id: string,
  output: WatchOutput,
  signal: AbortSignal,
  pollMs = 500,
): Promise<WatchOutcome> {
  const seen = new Set<string>();
  let state: RollbackStatusView['state'] = 'checking';
  for (;;) {
    const status = await latestStatus(client, id);
    if (status.kind !== 'rollback') {
      // The rollback ended: the latest status is now the release it undid, with the rollback's
      // outcome beside it (or, when a release started the moment it ended, the last state seen).
      const note = status.view.rollback;
      if (note) {
        const line = rollbackNoteLine(status.view.summary.run_id, note);
        if (!seen.has(line)) output.print(line);
        if (note.state === 'rolled_back' || note.state === 'rollback_failed')
          return { kind: 'rollback', status: note.state };
      }
      return { kind: 'rollback', status: state };
    }
    state = status.view.state;
    for (const line of describeRollback(status.view)) {
      if (seen.has(line)) continue;
      seen.add(line);
      output.print(line);
    }
    if (!status.running) return { kind: 'rollback', status: state };
    if (signal.aborted) return { kind: 'detached' };
    await pause(pollMs, signal);
  }
}

/** The release's exit code once it ends (0, 1, 4), 130 when detached with Ctrl-C, 2 when there is no such release. */
export async function releaseWatchCommand(id: string, flags: TemporalFlags): Promise<number> {
  return withClient(flags, (client) =>
    onInterrupt(async (_interrupted, signal) => {
      const outcome = await watchRelease(
        client,
        id,
        { print: out, live: liveTerminal(process.stdout) },
        signal,
      );
      if (outcome.kind === 'detached') {
        err(`stopped watching; the release goes on (db-release release status ${releaseIdOf(id)})`);
        return EXIT_CODES.detached;
      }
      if (outcome.kind === 'rollback')
        return outcome.status === 'rollback_failed' ? EXIT_CODES.rollbackFailed : EXIT_CODES.success;
      return exitCodeFor(outcome.summary.status);
    }),
  );
}

export function register(release: Command): Command {
  return temporalOptions(
    release.command('watch <id-or-environment>').description('follow a release until it ends'),
  ).action(action(releaseWatchCommand));
}
