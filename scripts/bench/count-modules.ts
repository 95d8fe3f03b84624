/**
 * Preloaded with `node --require` by the benchmark: at exit, writes how many CommonJS modules the
 * process loaded (require.cache, this file included) to the file named by DB_RELEASE_BENCH_MODULES.
 */
import { writeFileSync } from 'node:fs';

const out = process.env.DB_RELEASE_BENCH_MODULES;
if (out) {
  process.on('exit', () => {
    try {
      writeFileSync(out, String(Object.keys(require.cache).length));
    } catch {
      // the count is optional
    }
  });
}
