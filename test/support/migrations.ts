import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface TestMigration {
  revision: string;
  downRevision: string;
  upgrade: string;
  downgrade: string;
}

/** Writes an extra Alembic revision into a backend copy; returns a function that removes it. */
export async function addMigration(backendDir: string, m: TestMigration): Promise<() => Promise<void>> {
  const file = path.join(backendDir, 'migrations', 'versions', `${m.revision}_test.py`);
  const indent = (code: string) => code.split('\n').map((l) => `    ${l}`).join('\n');
  await writeFile(
    file,
    [
      `"""test revision ${m.revision}"""`,
      'import sqlalchemy as sa',
      'from alembic import op',
      '',
      `revision = "${m.revision}"`,
      `down_revision = "${m.downRevision}"`,
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
