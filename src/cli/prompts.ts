/**
 * Asking the operator on a terminal (plan amounts, Stripe secrets, never echoed), and writing
 * the secrets they give into `.env.local` so they never enter a workflow's input or history.
 * Shared by `stripe setup` and an interactive `release db`.
 */
import password from '@inquirer/password';
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
export async function writeSecretsToEnvLocal(projectRoot: string, updates: SecretUpdates): Promise<boolean> {
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

/**
 * A hidden question through @inquirer/password: nothing of the answer is drawn (no mask, no
 * reveal toggle), and readline turns keys into edits, so an arrow key moves the cursor instead of
 * putting its escape sequence into the secret. Ctrl-C (the key or the signal) aborts.
 */
async function askHidden(question: string): Promise<string> {
  const interrupted = new AbortController();
  const interrupt = () => interrupted.abort();
  // `on`, not `once`: the prompt's exit hook re-raises a SIGINT that no other listener is left to
  // handle, which would kill the CLI before it can say why it stopped.
  process.on('SIGINT', interrupt);
  try {
    return await password(
      {
        message: question.trimEnd(),
        mask: false,
        toggleMask: false,
        theme: { prefix: '', style: { message: (text: string) => text, answer: () => '', maskedText: '' } },
      },
      { input: process.stdin, output: process.stderr, signal: interrupted.signal },
    );
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (interrupted.signal.aborted || name === 'ExitPromptError' || name === 'AbortPromptError')
      throw promptInterrupted();
    throw error;
  } finally {
    process.removeListener('SIGINT', interrupt);
    if (process.stdin.isTTY) process.stdin.pause();
  }
}

/** Ctrl-C at a prompt: the command stops (exit 130) before it has changed anything. */
function promptInterrupted(): CliError {
  return new CliError('interrupted at the prompt; nothing was changed', EXIT_CODES.detached);
}
