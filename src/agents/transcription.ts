import { toFile } from "openai";
import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import { openaiClient, upstreamOf } from "./upstream.ts";
import { normalizeMimeType } from "../attachments/content-types.ts";
import { ChatkitError } from "../core/errors.ts";
import { type Logger } from "../core/logger.ts";
import type { UpstreamGate } from "../limits/upstream.ts";
import type { Metrics } from "../metrics/index.ts";

/** Upstreams guess the audio format from the file name's extension, so it must match the type. */
const EXTENSION_FOR_AUDIO_TYPE: Record<string, string> = {
  "audio/webm": "webm",
  "audio/ogg": "ogg",
  "audio/mp4": "mp4",
  "audio/x-m4a": "m4a",
  "audio/m4a": "m4a",
  "audio/mpeg": "mp3",
  "audio/mp3": "mp3",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/wave": "wav",
  "audio/flac": "flac",
};

/** The recording's base type (`audio/webm;codecs=opus` → `audio/webm`), or 415 when it is not audio. */
export function audioMimeType(raw: string): string {
  const mimeType = normalizeMimeType(raw);
  if (!mimeType || !EXTENSION_FOR_AUDIO_TYPE[mimeType]) throw new ChatkitError(415, "unsupported_file_type", { mime_type: raw });
  return mimeType;
}

/** Decodes `audio_base64`; 400 for text that is not base64 or decodes to nothing. */
export function decodeAudio(audioBase64: string, maxBytes: number): Buffer {
  const compact = audioBase64.replace(/\s+/g, "");
  const invalid = () => new ChatkitError(400, "invalid_params", { field: "params.audio_base64" });
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) throw invalid();
  const audio = Buffer.from(compact, "base64");
  if (audio.length === 0) throw invalid();
  if (audio.length > maxBytes) throw new ChatkitError(413, "file_too_large", { max_bytes: maxBytes });
  return audio;
}

/**
 * Sends a recording to the upstream's `/audio/transcriptions` and answers its text.
 * No upstream configured: 422 `transcription_unavailable`. The upstream failing: 502 `transcription_failed`.
 */
export async function transcribeAudio(
  config: ChatkitConfig,
  agent: AgentConfig | undefined,
  audio: Buffer,
  mimeType: string,
  options: { signal?: AbortSignal; logger: Logger; gate: UpstreamGate; metrics: Metrics },
): Promise<string> {
  const upstream = upstreamOf(config, agent ?? config.agents[0]);
  if (!upstream) throw new ChatkitError(422, "transcription_unavailable");
  const client = openaiClient(upstream, config, options.metrics, { maxRetries: 1 });
  const file = await toFile(audio, `audio.${EXTENSION_FOR_AUDIO_TYPE[mimeType] ?? "webm"}`, { type: mimeType });
  const releaseSlot = options.gate.acquire();
  try {
    const result = await client.audio.transcriptions.create({ file, model: config.openai.transcriptionModel }, { signal: options.signal ?? null });
    return result.text;
  } catch (error) {
    if (options.signal?.aborted) throw error;
    options.logger.error(`transcription upstream failed (${upstream.baseURL})`, error);
    const status = (error as { status?: number }).status;
    throw new ChatkitError(502, "transcription_failed", status ? { upstream_status: status } : {});
  } finally {
    releaseSlot();
  }
}
