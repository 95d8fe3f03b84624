/** The worker logs an expected cancellation as one INFO line, every other workflow failure as before. */
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { ApplicationFailure } from '@temporalio/common';
import { ReleaseWorkerLogger } from '../../src/worker-log';

function recorder(): {
  logger: Logger;
  entries: Array<{ level: LogLevel; message: string; meta?: LogMetadata }>;
} {
  const entries: Array<{ level: LogLevel; message: string; meta?: LogMetadata }> = [];
  const log = (level: LogLevel) => (message: string, meta?: LogMetadata) =>
    entries.push({ level, message, meta });
  return {
    entries,
    logger: {
      log: (level, message, meta) => entries.push({ level, message, meta }),
      trace: log('TRACE'),
      debug: log('DEBUG'),
      info: log('INFO'),
      warn: log('WARN'),
      error: log('ERROR'),
    },
  };
}

const failure = (message: string) =>
  ApplicationFailure.create({ type: 'ReleaseFailed', message, nonRetryable: true });

test('a release cancelled on request: one INFO line naming it, no WARN, no stack', () => {
  const { logger, entries } = recorder();
  new ReleaseWorkerLogger(logger).warn('Workflow failed', {
    error: failure('release cancelled: release cancelled (cancellation requested)'),
    workflowId: 'db-release-staging',
    runId: 'r1',
  });
  expect(entries).toHaveLength(1);
  expect(entries[0]?.level).toBe('INFO');
  expect(entries[0]?.message).toBe(
    'db-release-staging cancelled on request; its compensations ran (db-release release status shows them)',
  );
  expect(entries[0]?.meta).toEqual({ workflowId: 'db-release-staging', runId: 'r1' });
});

test('as the worker thread hands it over (structured clone: a plain Error, no type), the same', () => {
  const { logger, entries } = recorder();
  const cloned = structuredClone(failure('release cancelled: release cancelled (cancellation requested)'));
  expect((cloned as { type?: string }).type).toBeUndefined();
  new ReleaseWorkerLogger(logger).warn('Workflow failed', {
    error: cloned,
    workflowId: 'db-release-staging',
    workflowType: 'releaseDb',
  });
  expect(entries.map((e) => e.level)).toEqual(['INFO']);
  new ReleaseWorkerLogger(logger).warn('Workflow failed', {
    error: cloned,
    workflowId: 'x',
    workflowType: 'stripeSetup',
  });
  expect(entries.map((e) => e.level)).toEqual(['INFO', 'WARN']);
});

test('failed releases, a cancellation that could not be undone and other warnings keep their WARN', () => {
  const { logger, entries } = recorder();
  const worker = new ReleaseWorkerLogger(logger);
  worker.warn('Workflow failed', { error: failure('release rolled_back: migration failed') });
  worker.warn('Workflow failed', {
    error: failure('release rollback_failed: release cancelled (cancellation requested)'),
  });
  worker.warn('Workflow failed', {
    error: ApplicationFailure.create({ type: 'Other', message: 'release cancelled: x' }),
  });
  worker.warn('Activity failed', { error: new Error('boom') });
  worker.info('Workflow started');
  expect(entries.map((e) => e.level)).toEqual(['WARN', 'WARN', 'WARN', 'WARN', 'INFO']);
});
