import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface TestMigration {
  revision: string;
  /** One parent, or several for a merge revision. */
  downRevision: string | string[];
  upgrade: string;
  downgrade: string;
  /** A message other than "test revision <id>". */
  message?: string;
}

/** Writes an extra Alembic revision into a backend copy; returns a function that removes it. */
export async function addMigration(backendDir: string, m: TestMigration): Promise<() => Promise<void>> {
  const file = path.join(backendDir, 'migrations', 'versions', `${m.revision}_test.py`);
  const indent = (code: string) =>
    code
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
  await writeFile(
    file,
    [
      `"""${m.message ?? `test revision ${m.revision}`}"""`,
      'import sqlalchemy as sa',
      'from alembic import op',
      '',
      `revision = "${m.revision}"`,
      `down_revision = ${Array.isArray(m.downRevision) ? `(${m.downRevision.map((d) => `"${d}"`).join(', ')})` : `"${m.downRevision}"`}`,
      'branch_labels = None',
      'depends_on = None',
      '',
      'def upgrade() -> None:',
      indent(m.upgrade),
      '',
      'def downgrade() -> None:',
      indent(m.downgrade),
      '',
    ].join('\n'),
  );
  return () => rm(file, { force: true });
}

export const addColumn = (revision: string, downRevision: string, column: string): TestMigration => ({
  revision,
  downRevision,
  upgrade: `op.add_column("billing_plans", sa.Column("${column}", sa.String(32), nullable=True))`,
  downgrade: `op.drop_column("billing_plans", "${column}")`,
});

/** A revision that creates (and its downgrade drops) a table of its own, to see it come and go. */
export const addTable = (revision: string, downRevision: string, table: string): TestMigration => ({
  revision,
  downRevision,
  upgrade: `op.create_table("${table}", sa.Column("id", sa.Integer, primary_key=True))`,
  downgrade: `op.drop_table("${table}")`,
});
