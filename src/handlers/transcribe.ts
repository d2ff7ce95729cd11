import type { RequestParams } from "../protocol/requests.ts";
import { audioMimeType, decodeAudio, transcribeAudio } from "../agents/transcription.ts";
import type { HandlerContext } from "./context.ts";

/** `input.transcribe`: the composer's dictation; answers `{text}` for the composer. */
export async function transcribe(hc: HandlerContext, params: RequestParams<"input.transcribe">): Promise<{ text: string }> {
  const mimeType = audioMimeType(params.mime_type);
  const audio = decodeAudio(params.audio_base64, hc.config.chatkit.uploadMaxBytes);
  const text = await transcribeAudio(hc.config, hc.agent, audio, mimeType, { signal: hc.signal, logger: hc.log, gate: hc.services.upstream, metrics: hc.services.metrics });
  return { text };
}
