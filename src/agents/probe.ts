import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import type OpenAI from "openai";
import type { AgentConfig, ChatkitConfig } from "../config/schema.ts";
import { Metrics } from "../metrics/index.ts";
import { openaiClient, upstreamOf } from "./upstream.ts";

/** Whether an agent's upstream answered one real request, in words for a log line or `check`. */
export interface UpstreamProbe {
  ok: boolean;
  detail: string;
}

export const PROBE_TIMEOUT_MS = 10_000;

/**
 * One cheap real request per upstream, proof that each agent's model answers: the upstream's
 * model list, which should hold the agent's model; where a server has no list, or does not list
 * the model (llama.cpp names its one model after the file), the smallest completion with it,
 * streamed and stopped at its first event. Agents of the local responder are left out. No retries,
 * and each request gives up after `timeoutMs`; `metrics` (a throwaway registry for a command)
 * times them like every upstream request.
 */
export async function probeUpstreams(
  config: ChatkitConfig,
  { metrics = new Metrics(), timeoutMs = PROBE_TIMEOUT_MS }: { metrics?: Metrics; timeoutMs?: number } = {},
): Promise<Map<string, UpstreamProbe>> {
  const agents = config.agents;
  const lists = new Map<string, Promise<string[] | undefined>>();
  const results = new Map<string, UpstreamProbe>();
  await Promise.all(
    agents.map(async (agent) => {
      const upstream = upstreamOf(config, agent);
      if (!upstream) return;
      const client = openaiClient(upstream, config, metrics, { maxRetries: 0, timeoutMs });
      // Agents sharing an upstream share one listing.
      const key = JSON.stringify([upstream.baseURL, upstream.apiKey ?? ""]);
      if (!lists.has(key)) lists.set(key, listModels(client));
      results.set(agent.id, await probeAgent(client, agent, lists.get(key)!, timeoutMs));
    }),
  );
  return results;
}

/** The model ids an upstream lists; undefined when it has no list (404). Throws when it does not answer. */
async function listModels(client: OpenAI): Promise<string[] | undefined> {
  try {
    return (await client.models.list()).data.map((model) => model.id);
  } catch (error) {
    if (error instanceof APIError && error.status === 404) return undefined;
    throw error;
  }
}

async function probeAgent(client: OpenAI, agent: AgentConfig, listing: Promise<string[] | undefined>, timeoutMs: number): Promise<UpstreamProbe> {
  let listed: string[] | undefined;
  try {
    listed = await listing;
  } catch (error) {
    return { ok: false, detail: failure(error, timeoutMs) };
  }
  const model = agent.model;
  // An agent written as code (respond, Agents SDK) names no model of its own: the upstream answering is all there is to check.
  if (model === undefined) return { ok: true, detail: "answers" };
  // Ollama serves `llama3.2` as `llama3.2:latest`.
  if (listed?.some((id) => id === agent.model || id === `${agent.model}:latest`)) return { ok: true, detail: `answers, and lists ${agent.model}` };
  try {
    await firstEvent(client, agent.api, model, timeoutMs);
    return { ok: true, detail: listed ? `answers a completion with ${agent.model} (which its model list does not name)` : `answers a completion with ${agent.model}` };
  } catch (error) {
    const why = failure(error, timeoutMs);
    if (!listed) return { ok: false, detail: why };
    const names = listed.length ? `it lists ${listed.slice(0, 8).join(", ")}${listed.length > 8 ? ", …" : ""}` : "it lists no model";
    return { ok: false, detail: `answers, but not with the model ${agent.model} (${why}); ${names}` };
  }
}

/** The smallest completion in the agent's API flavour: streamed, and stopped once anything arrives. */
async function firstEvent(client: OpenAI, api: AgentConfig["api"], model: string, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  const stream =
    api === "chat_completions"
      ? await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 1, stream: true }, { signal })
      : await client.responses.create({ model, input: "Hi", max_output_tokens: 16, stream: true }, { signal });
  for await (const _event of stream) break; // leaving the loop aborts the request
}

/** Why an upstream request failed, in a few words. */
function failure(error: unknown, timeoutMs: number): string {
  if (error instanceof APIConnectionTimeoutError) return `does not answer within ${timeoutMs / 1000} s`;
  if (error instanceof APIConnectionError) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return `does not answer (${cause?.code ?? cause?.message ?? error.message})`;
  }
  if (error instanceof APIError) {
    const said = error.message.replace(/^\d+\s*/, "");
    if (error.status === 401 || error.status === 403) return `refuses the API key (${error.status}: ${said})`;
    return `answers ${error.status ?? "an error"}: ${said}`;
  }
  return error instanceof Error && error.name === "TimeoutError" ? `does not answer within ${timeoutMs / 1000} s` : `fails: ${(error as Error).message ?? String(error)}`;
}

/** One line for logs and `check`: `the upstream http://127.0.0.1:11434/v1 answers, and lists llama3.2`. */
export function describeProbe(config: ChatkitConfig, agent: AgentConfig, probe: UpstreamProbe): string {
  return `the upstream ${upstreamOf(config, agent)?.baseURL ?? "(none)"} ${probe.detail}`;
}
