import { EXIT_CODES } from '../release/summary';

/** An error the CLI turns into one line on stderr and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_CODES.badInput,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function isCliError(error: unknown): error is CliError {
  return (
    error instanceof Error && error.name === 'CliError' && typeof (error as CliError).exitCode === 'number'
  );
}
