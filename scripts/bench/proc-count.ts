/**
 * Counts the Python interpreters started while the benchmark runs, whoever starts them (the worker,
 * `just`, a shell script, a venv launcher): a `sitecustomize.py` on PYTHONPATH appends one line per
 * interpreter start (pid and argv) to a log file. Python imports `sitecustomize` at every start
 * unless run with -S or -I, which none of the release's commands does. Each line is written with
 * one O_APPEND write, so concurrent interpreters do not interleave.
 *
 * The log's path is baked into the file, not read from the environment: an interpreter the worker
 * starts ahead (tools/alembic_inspect.py --serve-once) gets only PATH and PYTHON* at its start,
 * and is counted in the run during which it started, like any other.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

export const PY_LOG_ENV = 'DB_RELEASE_BENCH_PY_LOG';

const sitecustomize = (log: string) => `# written by the db-release benchmark: counts interpreter starts
import os, sys
_log = ${JSON.stringify(log)}
if _log:
    try:
        _fd = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(_fd, ("%d %s\\n" % (os.getpid(), " ".join(sys.argv)[:300].replace("\\n", " "))).encode())
        finally:
            os.close(_fd)
    except OSError:
        pass
`;

export interface PythonCounter {
  /** Interpreter starts logged so far. */
  count(): number;
  /** The logged command lines from line `from` on (for the JSON report). */
  linesFrom(from: number): string[];
}

/** Installs the counter into `env` (PYTHONPATH first, the log file's path) and returns it. */
export async function installPythonCounter(dir: string, env: NodeJS.ProcessEnv): Promise<PythonCounter> {
  const siteDir = path.join(dir, 'py-count');
  await mkdir(siteDir, { recursive: true });
  const log = path.join(dir, 'python-starts.log');
  writeFileSync(path.join(siteDir, 'sitecustomize.py'), sitecustomize(log));
  appendFileSync(log, '');
  env[PY_LOG_ENV] = log;
  env.PYTHONPATH = env.PYTHONPATH ? `${siteDir}${path.delimiter}${env.PYTHONPATH}` : siteDir;
  const lines = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return {
    count: () => lines().length,
    linesFrom: (from) => lines().slice(from),
  };
}
