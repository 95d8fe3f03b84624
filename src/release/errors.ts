/**
 * Stable failure types. Retry policies list the deterministic ones as non-retryable, and the
 * workflow and CLI branch on these strings (never on `instanceof`, which breaks across the
 * workflow sandbox and Jest module copies).
 */
export const ErrorType = {
  /** Bad operator input (flags, config). Caught at the edge; exit code 2. */
  InvalidInput: 'InvalidInput',
  MissingDatabaseUrl: 'MissingDatabaseUrl',
  DatabaseUnreachable: 'DatabaseUnreachable',
  /** A command failed on a busy, restarting or briefly unreachable database: retried. */
  DatabaseBusy: 'DatabaseBusy',
  MultipleAlembicHeads: 'MultipleAlembicHeads',
  MissingStripeSecrets: 'MissingStripeSecrets',
  ProjectRootInvalid: 'ProjectRootInvalid',
  CommandNotFound: 'CommandNotFound',
  CommandFailed: 'CommandFailed',
  MigrationFailed: 'MigrationFailed',
  StripeAuthentication: 'StripeAuthentication',
  StripeInvalidRequest: 'StripeInvalidRequest',
  StripeUnavailable: 'StripeUnavailable',
  BillingPlansTableInvalid: 'BillingPlansTableInvalid',
  PlanVerificationFailed: 'PlanVerificationFailed',
  DowngradeFailed: 'DowngradeFailed',
  ReleaseFailed: 'ReleaseFailed',
  /** The release names an environment, catalog or plans other than the worker's backend: exit 2. */
  TargetMismatch: 'TargetMismatch',
  /** Another release holds the target database's lease: exit 3, naming the holder. */
  TargetBusy: 'TargetBusy',
  /** The lease expired and another release took it while this one ran: nothing more is started. */
  TargetLeaseLost: 'TargetLeaseLost',
  /** An approver rejected the plan at the gate (or nobody decided before its timeout): nothing was changed. */
  Rejected: 'Rejected',
  /** The release was cancelled (recorded in the summary; compensations still run). */
  Cancelled: 'Cancelled',
  /** `release rollback` refused before changing anything (status, window, schema moved, unready downgrade). */
  RollbackRefused: 'RollbackRefused',
  /** `stripe setup` failed and undoing what it had done failed too: fix by hand. */
  StripeSetupRollbackFailed: 'StripeSetupRollbackFailed',
  /**
   * The environment's promotion policy names an environment with no successful, not rolled back
   * release of the same git SHA and revision set within maxAge: refused at preflight, exit 1.
   */
  PromotionRequired: 'PromotionRequired',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Failures a retry cannot fix: the saga reacts to them at once. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = [
  ErrorType.InvalidInput,
  ErrorType.MissingDatabaseUrl,
  ErrorType.MultipleAlembicHeads,
  ErrorType.MissingStripeSecrets,
  ErrorType.ProjectRootInvalid,
  ErrorType.CommandNotFound,
  ErrorType.CommandFailed,
  ErrorType.MigrationFailed,
  ErrorType.StripeAuthentication,
  ErrorType.StripeInvalidRequest,
  ErrorType.BillingPlansTableInvalid,
  ErrorType.PlanVerificationFailed,
  ErrorType.DowngradeFailed,
  ErrorType.TargetMismatch,
  ErrorType.TargetBusy,
  ErrorType.TargetLeaseLost,
  ErrorType.PromotionRequired,
];
