/** Each case's result, one JSON file per case, read by the reporter for the closing table. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../../src/devstack/paths';

export interface CaseResult {
  id: string;
  title: string;
  dependsOn: string;
  survived: boolean;
  /** The checks that failed (or the error that stopped the case), empty when it survived. */
  failure: string;
  status: string | null;
  exitCode: number | null;
  migrationsRanTwice: number;
  duplicateOrLeakedStripe: number;
  secretsFound: number;
  leftoverProcesses: number;
  seconds: number;
}

/** Git-ignored (var/); the global setup empties it at the start of a run. */
export function resultsDir(): string {
  return path.join(repoRoot(), 'var', 'faults', 'results');
}

export async function recordResult(result: CaseResult): Promise<void> {
  await mkdir(resultsDir(), { recursive: true });
  await writeFile(path.join(resultsDir(), `${result.id}.json`), `${JSON.stringify(result, null, 2)}\n`);
}
