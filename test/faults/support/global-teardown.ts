/**
 * The closing table: every case of test/faults/cases.ts, whether it survived, and the counts the
 * issue asks for, then `faults: N passed, M failed` alone on the last line (what CI's reader
 * looks for). A case with no recorded result (timed out, crashed) counts as failed.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import stopSharedDevServer from '../../support/global-teardown';
import { CASE_LIST } from '../cases';
import { resultsDir, type CaseResult } from './results';

async function readResults(): Promise<Map<string, CaseResult>> {
  const out = new Map<string, CaseResult>();
  let files: string[] = [];
  try {
    files = await readdir(resultsDir());
  } catch {
    return out;
  }
  for (const file of files.filter((f) => f.endsWith('.json'))) {
    const result = JSON.parse(await readFile(path.join(resultsDir(), file), 'utf8')) as CaseResult;
    out.set(result.id, result);
  }
  return out;
}

export function closingTable(results: Map<string, CaseResult>, onlyIds: string[] | null): string {
  const ids = CASE_LIST.map((c) => c.id).filter((id) => onlyIds === null || onlyIds.includes(id));
  const rows = ids.map((id) => {
    const spec = CASE_LIST.find((c) => c.id === id);
    const r = results.get(id);
    return {
      id,
      title: spec?.title ?? id,
      survived: r ? (r.survived ? 'yes' : 'NO') : 'NO (no result)',
      status: r?.status ?? '-',
      exit: r?.exitCode === null || r?.exitCode === undefined ? '-' : String(r.exitCode),
      twice: r ? String(r.migrationsRanTwice) : '-',
      dup: r ? String(r.duplicateOrLeakedStripe) : '-',
      secrets: r ? String(r.secretsFound) : '-',
      left: r ? String(r.leftoverProcesses) : '-',
      secs: r ? String(r.seconds) : '-',
      depends: r?.survived ? '' : (spec?.dependsOn ?? ''),
      failure: r?.survived ? '' : (r?.failure ?? 'no result recorded (timed out or crashed)'),
    };
  });
  const header = {
    id: 'case',
    title: 'what',
    survived: 'survived',
    status: 'status',
    exit: 'exit',
    twice: 'migr twice',
    dup: 'dup/leaked stripe',
    secrets: 'secrets',
    left: 'procs left',
    secs: 's',
    depends: 'depends on',
    failure: '',
  };
  const cols = ['id', 'survived', 'status', 'exit', 'twice', 'dup', 'secrets', 'left', 'secs'] as const;
  const width = (k: (typeof cols)[number]) => Math.max(header[k].length, ...rows.map((r) => r[k].length));
  const line = (r: typeof header) =>
    cols
      .map((k) => r[k].padEnd(width(k)))
      .join('  ')
      .trimEnd();
  const sum = (k: 'twice' | 'dup' | 'secrets' | 'left') => rows.reduce((s, r) => s + (Number(r[k]) || 0), 0);
  const passed = rows.filter((r) => r.survived === 'yes').length;
  const out = ['', '==== fault suite: closing table ====', line(header), ...rows.map(line)];
  out.push(
    '',
    `cases: ${rows.length}, survived: ${passed}, migrations run twice: ${sum('twice')}, duplicate or leaked Stripe objects: ${sum('dup')}, ` +
      `secrets found in histories, logs, reports and CLI output: ${sum('secrets')}, migrate processes left: ${sum('left')}`,
  );
  const failed = rows.filter((r) => r.survived !== 'yes');
  if (failed.length > 0) {
    out.push('', 'not survived (depends on / first failed checks):');
    for (const r of failed)
      out.push(`  ${r.id}: ${r.title}\n    depends on: ${r.depends}\n    failed: ${r.failure.slice(0, 400)}`);
  }
  out.push('', `faults: ${passed} passed, ${rows.length - passed} failed`, '');
  return out.join('\n');
}

export default async function globalTeardown(): Promise<void> {
  const results = await readResults();
  // A run filtered to some files (jest -t / a path) reports only the cases it ran.
  const filtered = process.argv.some((a) => /test\/faults\/.+\.test\.ts|^-t$|--testNamePattern/.test(a));
  process.stdout.write(closingTable(results, filtered ? [...results.keys()] : null));
  await stopSharedDevServer();
}
