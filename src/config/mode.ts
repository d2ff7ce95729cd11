import type { ChatkitConfig } from "./schema.ts";

/**
 * Which backend the chat pages talk to: ours (self-hosted, the default), or OpenAI's with a client
 * secret (hosted: a workflow to mint per-user secrets for, or the seed's static secret).
 */
export type ChatkitMode =
  | { kind: "self-hosted" }
  | { kind: "hosted"; secret: "workflow"; workflowId: string }
  | { kind: "hosted"; secret: "static" };

export function chatkitMode(config: ChatkitConfig): ChatkitMode {
  if (config.chatkit.workflowId) return { kind: "hosted", secret: "workflow", workflowId: config.chatkit.workflowId };
  if (config.chatkit.clientSecret) return { kind: "hosted", secret: "static" };
  return { kind: "self-hosted" };
}
