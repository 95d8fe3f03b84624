/**
 * Asking the operator on a terminal (plan amounts, Stripe secrets, never echoed), and writing
 * the secrets they give into `.env.local` so they never enter a workflow's input or history.
 * Shared by `stripe setup` and an interactive `release db`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { rewriteEnvText } from '../config/env-local';
import { maskSecret } from '../masking';
import { parsePlanFlags, PlanFlagError } from '../release/plans';
import { EXIT_CODES } from '../release/summary';
import type { CatalogPlan } from '../release/types';
import { CliError } from './errors';
import { classifyKey, type ProviderKeyName } from './providers';

export type SecretUpdates = Partial<Record<'STRIPE_SECRET_KEY' | 'STRIPE_WEBHOOK_SECRET', string>>;

/** Asks the operator; the answer '' keeps the value shown in brackets. */
export interface Prompter {
  ask(question: string, options?: { hidden?: boolean }): Promise<string>;
  /** Why an answer was not taken; the question is then asked again. */
  warn(text: string): void;
  close(): void;
}

/** Asks each plan's amount (only those in `codes`, when given); '' keeps the value shown. */
export async function askPlanAmounts(
  prompter: Prompter,
  catalog: CatalogPlan[],
  given: Map<string, number>,
  codes?: readonly string[],
): Promise<Map<string, number>> {
  const amounts = new Map(given);
  for (const plan of catalog) {
    if (codes && !codes.includes(plan.code)) continue;
    const current = amounts.get(plan.code) ?? plan.amount;
    for (;;) {
      const answer = (
        await prompter.ask(`Monthly price of ${plan.name} (${plan.code}) in cents [${current}]: `)
      ).trim();
      if (answer === '') {
        amounts.set(plan.code, current);
        break;
      }
      try {
        const parsed = parsePlanFlags([`${plan.code}=${answer}`], catalog);
        amounts.set(plan.code, parsed.get(plan.code) ?? current);
        break;
      } catch (error) {
        if (!(error instanceof PlanFlagError)) throw error;
        prompter.warn(error.message.replace(/^--plan "[^"]*": /, ''));
      }
    }
  }
  return amounts;
}

/** Asks a Stripe secret without echoing it; '' keeps the existing value (undefined). */
export async function askSecret(
  prompter: Prompter,
  name: ProviderKeyName,
  existing: string | undefined,
): Promise<string | undefined> {
  for (;;) {
    const shown = existing ? ` [keep ${maskSecret(existing) ?? ''}]` : '';
    const answer = (await prompter.ask(`${name}${shown}: `, { hidden: true })).trim();
    if (answer === '') return undefined;
    const verdict = classifyKey(name, answer);
    if (verdict.status === 'ok') return answer;
    prompter.warn(`${name} ${verdict.reason}`);
  }
}

/** Writes the given secrets into `.env.local`, every other line byte for byte; creates it (0600) if missing. */
export async function writeSecretsToEnvLocal(
  projectRoot: string,
  updates: SecretUpdates,
): Promise<boolean> {
  if (Object.keys(updates).length === 0) return false;
  const file = path.join(projectRoot, '.env.local');
  let current = '';
  try {
    current = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const next = rewriteEnvText(current, updates);
  if (next === current) return false;
  await writeFile(file, next, { mode: 0o600 });
  return true;
}

/** Prompts on the terminal (stderr, so stdout stays JSON); hidden answers are not echoed. */
export function terminalPrompter(): Prompter | null {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return null;
  return {
    async ask(question, options = {}) {
      if (options.hidden) return askHidden(question);
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      // Ctrl-C at a prompt (the terminal's, or a SIGINT) stops the command before anything changed.
      const interrupted = new AbortController();
      const interrupt = () => interrupted.abort();
      rl.on('SIGINT', interrupt);
      process.once('SIGINT', interrupt);
      try {
        return await rl.question(question, { signal: interrupted.signal });
      } catch (error) {
        if (interrupted.signal.aborted) throw promptInterrupted();
        throw error;
      } finally {
        process.removeListener('SIGINT', interrupt);
        rl.close();
      }
    },
    warn(text) {
      process.stderr.write(`${text}\n`);
    },
    close() {
      if (process.stdin.isTTY) process.stdin.pause();
    },
  };
}

function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (finish: () => void) => {
      stdin.removeListener('data', onData);
      process.removeListener('SIGINT', onSignal);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      finish();
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(() => resolve(value));
        if (ch === '\u0003') return done(() => reject(promptInterrupted()));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    const onSignal = () => done(() => reject(promptInterrupted()));
    process.once('SIGINT', onSignal);
    // Echo off before the question shows: an answer typed (or pasted) the moment it appears
    // must not be echoed by the terminal.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** Ctrl-C at a prompt: the command stops (exit 130) before it has changed anything. */
function promptInterrupted(): CliError {
  return new CliError('interrupted at the prompt; nothing was changed', EXIT_CODES.detached);
}
