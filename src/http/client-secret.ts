import type { Context } from "koa";
import type OpenAI from "openai";
import { openaiClient, upstreamOf } from "../agents/upstream.ts";
import { chatkitMode } from "../config/mode.ts";
import type { ChatkitConfig } from "../config/schema.ts";
import { ChatkitError } from "../core/errors.ts";
import type { UpstreamGate } from "../limits/upstream.ts";
import type { Metrics } from "../metrics/index.ts";
import type { AppState } from "./state.ts";

const MIB = 1024 * 1024;
/** OpenAI's most per file (512 MB) and per session (10). */
const HOSTED_MAX_FILE_MB = 512;
const HOSTED_MAX_FILES = 10;

/**
 * What the minted session lets the page do: the chat pages always offer attachments (with
 * `chatkit.uploadMaxBytes` as the limit), and sessions have uploads off unless asked.
 */
function chatkitConfiguration(config: ChatkitConfig) {
  const maxFileMb = Math.max(1, Math.min(HOSTED_MAX_FILE_MB, Math.floor(config.chatkit.uploadMaxBytes / MIB)));
  return { file_upload: { enabled: true, max_file_size: maxFileMb, max_files: HOSTED_MAX_FILES }, history: { enabled: true } };
}

/**
 * `POST /chatkit/client_secret` (hosted mode): a client secret for the signed-in user, minted
 * through OpenAI's ChatKit sessions API for the configured workflow, else the static secret.
 */
export function clientSecretRoute(config: ChatkitConfig, upstreamDeps: { gate: UpstreamGate; metrics: Metrics }) {
  const mode = chatkitMode(config);
  let client: OpenAI | undefined;
  return async function clientSecret(ctx: Context): Promise<void> {
    ctx.set("Cache-Control", "no-store");
    if (mode.kind === "self-hosted") throw new ChatkitError(404, "client_secret_unavailable");
    if (mode.secret === "static") {
      ctx.body = { client_secret: config.chatkit.clientSecret };
      return;
    }
    const upstream = upstreamOf(config, undefined);
    if (!upstream) throw new ChatkitError(404, "client_secret_unavailable");
    client ??= openaiClient(upstream, config, upstreamDeps.metrics, { maxRetries: 1 });
    const state = ctx.state as AppState;
    const releaseSlot = upstreamDeps.gate.acquire();
    try {
      const session = await client.beta.chatkit.sessions.create({
        user: state.user.id,
        workflow: { id: mode.workflowId },
        chatkit_configuration: chatkitConfiguration(config),
      });
      ctx.body = { client_secret: session.client_secret };
    } catch (error) {
      state.log.error(`minting a ChatKit client secret for workflow ${mode.workflowId} failed`, error);
      throw new ChatkitError(502, "client_secret_failed");
    } finally {
      releaseSlot();
    }
  };
}
