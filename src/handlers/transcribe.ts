import type { RequestParams } from "../protocol/requests.ts";
import { audioMimeType, decodeAudio, transcribeAudio, transcriptionUpstream } from "../voice/transcription.ts";
import type { HandlerContext } from "./context.ts";

/** `input.transcribe`: the composer's dictation; answers `{text}` for the composer. */
export async function transcribe(hc: HandlerContext, params: RequestParams<"input.transcribe">): Promise<{ text: string }> {
  const mimeType = audioMimeType(params.mime_type);
  const audio = decodeAudio(params.audio_base64, hc.config.chatkit.uploadMaxBytes);
  const upstream = transcriptionUpstream(hc.config, hc.agent);
  const text = await transcribeAudio(upstream, audio, mimeType, { signal: hc.signal, logger: hc.services.logger });
  return { text };
}
