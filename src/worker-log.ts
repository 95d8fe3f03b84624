/**
 * The worker's log, with one exception to the SDK's defaults: a release cancelled on request ends
 * its workflow with a ReleaseFailed failure (so the summary travels with it) and the SDK logs
 * every workflow failure as a WARN with the error's stack. An expected cancellation whose
 * compensations ran is no fault: it becomes one INFO line. Anything else passes unchanged,
 * including a cancelled release that could not be undone (`release rollback_failed`).
 */
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';

/** The SDK's "Workflow failed" entry for a release that ended `cancelled` (see ReleaseFailed's message). */
export function isExpectedCancellation(level: LogLevel, message: string, meta?: LogMetadata): boolean {
  if (level !== 'WARN' || message !== 'Workflow failed') return false;
  const error = meta?.error as { type?: unknown; message?: unknown } | undefined;
  if (typeof error?.message !== 'string' || !error.message.startsWith('release cancelled:')) return false;
  // Workflows run in worker threads: the error reaches the log structured-cloned, a plain Error
  // without its failure `type`. When the type survived, it must be ours.
  if (error.type !== undefined && error.type !== 'ReleaseFailed') return false;
  return meta?.workflowType === undefined || meta.workflowType === 'releaseDb';
}

export class ReleaseWorkerLogger implements Logger {
  constructor(private readonly inner: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (isExpectedCancellation(level, message, meta)) {
      const { error: _error, ...rest } = meta ?? {};
      const id = typeof rest.workflowId === 'string' ? rest.workflowId : 'a release';
      this.inner.log(
        'INFO',
        `${id} cancelled on request; its compensations ran (db-release release status shows them)`,
        rest,
      );
      return;
    }
    this.inner.log(level, message, meta);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/**
 * Installs the worker's runtime with this logger; call before the first connection. False when a
 * runtime already exists in this process (tests, an embedding program): its logger is kept.
 */
export function installWorkerLogger(inner: Logger = new DefaultLogger('INFO')): boolean {
  try {
    Runtime.install({ logger: new ReleaseWorkerLogger(inner) });
    return true;
  } catch {
    return false;
  }
}
