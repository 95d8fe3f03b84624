/**
 * How the CLI starts the tool's workflows (release, stripe setup, rollback): one run at a time per
 * workflow id. A run of the id still going is refused by Temporal itself, a finished one may be
 * followed by the next, and the refusal becomes the caller's exit-3 message.
 */
import type { Client, WorkflowHandleWithFirstExecutionRunId, WorkflowStartOptions } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Workflow } from '@temporalio/common';
import type { CliError } from './errors';

export async function startOnePerId<W extends Workflow>(
  client: Client,
  workflowType: string,
  options: Omit<WorkflowStartOptions<W>, 'workflowIdConflictPolicy' | 'workflowIdReusePolicy'>,
  whenRunning: () => CliError | Promise<CliError>,
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  try {
    // The cast: TypeScript cannot see through Omit of the SDK's conditional `args` type for a generic W.
    return await client.workflow.start<W>(workflowType, {
      ...options,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    } as WorkflowStartOptions<W>);
  } catch (error) {
    // By name: the error class may come from another copy of the SDK (see STYLE.md).
    if ((error as Error).name === 'WorkflowExecutionAlreadyStartedError') throw await whenRunning();
    throw error;
  }
}
