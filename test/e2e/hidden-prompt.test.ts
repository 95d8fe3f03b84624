/**
 * The hidden secret prompt (built CLI code, on a real pseudo-terminal): nothing of the answer is
 * drawn, an arrow key edits instead of landing in the secret as an escape sequence, and Ctrl-C
 * aborts with the CLI's message and exit code 130.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../src/devstack/paths';
import { startOnTerminal, type TerminalRun } from '../support/cli';
import { eventually } from '../support/eventually';
import { removeTempDirs, tempDir } from '../support/fakes';

afterAll(removeTempDirs);
/** A test that failed with its prompt still open must not leave it running. */
const runs: TerminalRun[] = [];
afterEach(() => {
  for (const run of runs.splice(0)) run.kill();
});

const QUESTION = 'STRIPE_SECRET_KEY [keep sk_t…0001]: ';
const LEFT = '\x1b[D';
const RIGHT = '\x1b[C';
const UP = '\x1b[A';

/** A script asking one hidden question with the CLI's terminal prompter, printing the answer as JSON. */
function askOnTerminal(): TerminalRun {
  const script = path.join(tempDir('hidden-prompt-'), 'ask.js');
  writeFileSync(
    script,
    `const { terminalPrompter } = require(${JSON.stringify(path.join(repoRoot(), 'dist', 'src', 'cli', 'prompts.js'))});
const prompter = terminalPrompter();
prompter.ask(${JSON.stringify(QUESTION)}, { hidden: true }).then(
  (answer) => { prompter.close(); process.stdout.write('\\nANSWER=' + JSON.stringify(answer) + '\\n'); },
  (error) => { process.stdout.write('\\n' + error.message + '\\n'); process.exitCode = error.exitCode; },
);
`,
  );
  const run = startOnTerminal([process.execPath, script]);
  runs.push(run);
  return run;
}

const answerOf = (screen: string) => JSON.parse(/ANSWER=(".*")/.exec(screen)?.[1] ?? 'null') as string | null;

/** Types each key on its own, as a person does, waiting for the prompt to answer each (a redraw or a cursor move). */
async function typeKeys(run: TerminalRun, keys: string[]): Promise<void> {
  for (const key of keys) {
    const before = run.screen().length;
    run.type(key);
    await eventually(() => run.screen().length > before, {
      what: `the prompt to answer ${JSON.stringify(key)}`,
    });
  }
}

test('arrow keys edit the hidden answer (left, then right); none of it is drawn', async () => {
  const run = askOnTerminal();
  await run.waitForScreen(/STRIPE_SECRET_KEY \[keep sk_t…0001\]:/);
  await typeKeys(run, [...'sk_test_51Hidden', LEFT, 'X', RIGHT, ...'Typed']);
  run.type('\r');
  const done = await run.done;
  expect(done.code).toBe(0);
  expect(answerOf(done.stdout)).toBe('sk_test_51HiddeXnTyped');
  const drawn = done.stdout.slice(0, done.stdout.indexOf('ANSWER='));
  expect(drawn).not.toMatch(/sk_test|Hidde|Typed|X/);
});

test('a pasted burst with escape sequences in it: no part of a sequence lands in the secret', async () => {
  const run = askOnTerminal();
  await run.waitForScreen(/STRIPE_SECRET_KEY/);
  run.type(`sk_test_51Pasted${LEFT}${UP}${RIGHT}Burst\r`);
  const done = await run.done;
  expect(done.code).toBe(0);
  const answer = answerOf(done.stdout) ?? '';
  expect(answer).toMatch(/^sk_test_51Paste/);
  expect(answer).toContain('Burst');
  expect(answer).not.toMatch(/[\x1b[\]]|\[[ABCD]/);
  expect(done.stdout.slice(0, done.stdout.indexOf('ANSWER='))).not.toMatch(/Pasted|Burst/);
});

test('Ctrl-C at the hidden prompt aborts with the CLI message and exit 130', async () => {
  const run = askOnTerminal();
  await run.waitForScreen(/STRIPE_SECRET_KEY/);
  run.type('sk_test_partial\x03');
  const done = await run.done;
  expect(done.code).toBe(130);
  expect(done.stdout).toContain('interrupted at the prompt; nothing was changed');
  expect(done.stdout).not.toContain('partial');
});

test('a SIGINT at the hidden prompt aborts the same way', async () => {
  const run = askOnTerminal();
  await run.waitForScreen(/STRIPE_SECRET_KEY/);
  run.interrupt();
  const done = await run.done;
  expect(done.code).toBe(130);
  expect(done.stdout).toContain('interrupted at the prompt; nothing was changed');
});
