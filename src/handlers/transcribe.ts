import { ChatkitError } from "../core/errors.ts";
import type { RequestParams } from "../protocol/requests.ts";
import { audioMimeType, decodeAudio, transcribeAudio } from "../agents/transcription.ts";
import { UsageMeter } from "../usage/meter.ts";
import { failureReason } from "../usage/recorder.ts";
import type { HandlerContext } from "./context.ts";

/** `input.transcribe`: the composer's dictation; answers `{text}` for the composer. Its usage is recorded as a transcription. */
export async function transcribe(hc: HandlerContext, params: RequestParams<"input.transcribe">): Promise<{ text: string }> {
  const mimeType = audioMimeType(params.mime_type);
  const audio = decodeAudio(params.audio_base64, hc.config.chatkit.uploadMaxBytes);
  const agent = hc.agent ?? hc.config.agents[0]!;
  const subject = { kind: "transcription" as const, userId: hc.user.id, agentId: agent.id, model: hc.config.openai.transcriptionModel, threadId: null };
  const meter = new UsageMeter();
  meter.modelCall();
  try {
    const { text, usage } = await transcribeAudio(hc.config, hc.agent, audio, mimeType, { signal: hc.signal, logger: hc.log, gate: hc.services.upstream, metrics: hc.services.metrics });
    if (usage) meter.reported(usage);
    await hc.services.usage.record(subject, meter, { outcome: "done", error: null });
    return { text };
  } catch (error) {
    // No upstream to ask, or no slot to ask it in: nothing was used.
    if (error instanceof ChatkitError && (error.key === "transcription_unavailable" || error.key === "upstream_busy")) throw error;
    await hc.services.usage.record(subject, meter, hc.signal.aborted ? { outcome: "stopped", error: null } : { outcome: "failed", error: failureReason(error) });
    throw error;
  }
}
