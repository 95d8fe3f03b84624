import type { Client } from '@temporalio/client';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { createRequire } from 'node:module';

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

/**
 * Reads a history file (proto JSON, as the `temporal` CLI writes it) back as a replayer does. The
 * SDK's historyFromJSON fails with "type must be a Type" when npm installs two protobufjs 8 copies
 * (see historyJson in src/cli/evidence.ts); the fallback parses with the copy @temporalio/proto uses.
 */
export function historyFromFile(json: unknown): History {
  try {
    return historyFromJSON(json);
  } catch (error) {
    if (!/must be a Type/.test((error as Error).message)) throw error;
    const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
      fromJson(type: unknown, json: unknown): History;
    };
    return protojson.fromJson(proto.temporal.api.history.v1.History, json);
  }
}
