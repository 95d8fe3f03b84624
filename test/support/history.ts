import type { Client } from '@temporalio/client';

/** Every payload of a run's event history decoded to text, plus the history itself: what the Web UI can show. */
export async function historyText(client: Client, workflowId: string, runId?: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const parts: string[] = [JSON.stringify(history)];
  const walk = (value: unknown, key?: string): void => {
    if (value instanceof Uint8Array) {
      parts.push(Buffer.from(value).toString('utf8'));
    } else if (typeof value === 'string' && key === 'data') {
      parts.push(Buffer.from(value, 'base64').toString('utf8'));
    } else if (Array.isArray(value)) {
      value.forEach((v) => walk(v));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(JSON.parse(JSON.stringify(history)) as unknown);
  return parts.join('\n');
}
