/**
 * Everything the benchmark starts registers how to stop it here; `run()` undoes it newest first,
 * from `finally` and from SIGINT/SIGTERM alike, and never throws.
 */
export class Cleanup {
  private readonly steps: Array<{ name: string; undo: () => Promise<void> }> = [];
  private running: Promise<void> | null = null;

  /** Registers an undo step; the returned function runs it early (and removes it). */
  add(name: string, undo: () => Promise<void>): () => Promise<void> {
    const step = { name, undo };
    this.steps.push(step);
    return async () => {
      const index = this.steps.indexOf(step);
      if (index < 0) return;
      this.steps.splice(index, 1);
      await undo();
    };
  }

  run(log: (line: string) => void): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop();
        if (!step) break;
        try {
          log(`cleanup: ${step.name}`);
          await step.undo();
        } catch (error) {
          log(`cleanup: ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })();
    return this.running;
  }
}
