import {
  Agent,
  InputGuardrailTripwireTriggered,
  MaxTurnsExceededError,
  OpenAIProvider,
  OutputGuardrailTripwireTriggered,
  Runner,
  setTraceProcessors,
  setTracingDisabled,
  setTracingExportApiKey,
  type RunStreamEvent,
} from "@openai/agents";
import type OpenAI from "openai";
import type { AgentConfig, ChatkitConfig } from "../../config/schema.ts";
import { ChatkitError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import type { Logger } from "../../core/logger.ts";
import type { Source, Task, ThreadItem } from "../../protocol/items.ts";
import { newSdkAgentRun } from "../../protocol/new-items.ts";
import { drainWhile } from "../../tools/channel.ts";
import { finishOpenWidgets, HandlerChannel, streamingContext } from "../../tools/context.ts";
import type { StructuredInputQuestion } from "../../tools/define.ts";
import type { ResolvedTool } from "../../tools/run.ts";
import { MessageWriter } from "../message-writer.ts";
import { UpstreamError } from "../runner.ts";
import { structuredInputItem } from "../tool-round.ts";
import type { TurnEvent } from "../../protocol/events.ts";
import type { ThreadState } from "../turn.ts";
import { WorkflowTracker } from "../workflow.ts";
import type { ChatKitAgentContext } from "./context.ts";
import { sdkHistory } from "./history.ts";
import { sdkTools } from "./tools.ts";

export type { ChatKitAgentContext } from "./context.ts";

export interface SdkTurn {
  sdkAgent: Agent<any, any>;
  thread: ThreadState;
  user: { id: string; email: string };
  agent: AgentConfig;
  /** The thread's newest stored items, oldest first. */
  history: ThreadItem[];
  /** The box's tools for this agent (config tools with handlers, MCP servers'), offered to the SDK agent besides its own. */
  tools: ResolvedTool[];
  /** The agent's upstream client; none means no upstream is configured. */
  client: OpenAI | undefined;
  /** One of the box's upstream slots (`limits.upstreamConcurrency`), held for the whole run; throws `upstream_busy`. */
  acquireSlot: () => () => void;
  config: ChatkitConfig;
  signal: AbortSignal;
  logger: Logger;
}

/** What the user reads when a guardrail stops the run and the guardrail gave no message of its own. */
export const GUARDRAIL_MESSAGE = "Sorry, I can't help with that request.";

/**
 * Tracing export is off unless the config turns it on: `@openai/agents` installs an exporter to
 * OpenAI when it is imported, so its processors are cleared, not only the runs' flag set.
 */
function applyTracing(config: ChatkitConfig): void {
  setTracingDisabled(!config.agentsSdk.tracing);
  if (!config.agentsSdk.tracing) setTraceProcessors([]);
  else if (config.openai.apiKey) setTracingExportApiKey(config.openai.apiKey);
}

/** Every agent reachable from `start` through handoffs, by name: where the previous run ended. */
function agentNamed(start: Agent<any, any>, name: string | undefined): Agent<any, any> | undefined {
  if (!name) return undefined;
  const seen = new Set<Agent<any, any>>();
  const queue = [start];
  while (queue.length) {
    const agent = queue.shift()!;
    if (seen.has(agent)) continue;
    seen.add(agent);
    if (agent.name === name) return agent;
    // A `Handoff` wraps its agent; by shape, since a config may hold another copy of the SDK's classes.
    for (const handoff of agent.handoffs) queue.push("agent" in handoff && handoff.agent ? handoff.agent : (handoff as Agent<any, any>));
  }
  return undefined;
}

/** The text a guardrail gave for stopping the run (`outputInfo` as text or its `message`), else the default. */
function guardrailText(error: InputGuardrailTripwireTriggered | OutputGuardrailTripwireTriggered<any, any>): string {
  const info = error.result.output.outputInfo as unknown;
  if (typeof info === "string" && info.trim()) return info;
  const message = (info as { message?: unknown } | null | undefined)?.message;
  return typeof message === "string" && message.trim() ? message : GUARDRAIL_MESSAGE;
}

/**
 * Runs an `@openai/agents` Agent as the turn, streamed, against the agent's upstream (Responses
 * or Chat Completions, through the box's `openai` client), and maps the run to ChatKit: text
 * deltas into assistant messages, tool calls and handoffs as workflow tasks, reasoning as thought
 * tasks, a guardrail tripwire as a message the user reads. What the run added is stored (hidden)
 * so the next turn replays it as the SDK's input items, from the agent the run ended with.
 */
export async function* respondWithSdkAgent(turn: SdkTurn): AsyncGenerator<TurnEvent> {
  if (!turn.client) throw new ChatkitError(503, "agent_needs_upstream", {}, { allowRetry: false });
  applyTracing(turn.config);
  const { thread } = turn;
  const channel = new HandlerChannel<TurnEvent>();
  const emit = (event: TurnEvent) => channel.push(event);
  const workflow = new WorkflowTracker(thread.id);
  const citations: Source[] = [];
  const questions: StructuredInputQuestion[] = [];
  const tasks = new Map<string, { index: number; title: string }>();

  const helpers = streamingContext(
    { user: turn.user, thread: { id: thread.id, title: thread.title }, agent: { id: turn.agent.id, name: turn.agent.name }, signal: turn.signal },
    channel,
  );
  const context: ChatKitAgentContext = { ...helpers, cite: (source) => citations.push(source), askUser: (inputs) => questions.push(...inputs) };

  const endWorkflow = () => {
    for (const event of workflow.end()) emit(event);
  };
  const messages = new MessageWriter(thread.id, emit, endWorkflow);
  /** Finishes the open message; `text` (the SDK's final text of it) wins over the deltas. */
  const endMessage = (text?: string) => messages.end(citations.splice(0), text);
  const startTask = (key: string, task: Task, type: "custom" | "reasoning" = "custom") => {
    endMessage();
    const started = workflow.addTask(task, type);
    for (const event of started.events) emit(event);
    if (task.type === "custom") tasks.set(key, { index: started.index, title: task.title ?? "" });
  };
  const completeTask = (key: string, title?: string) => {
    const task = tasks.get(key);
    if (!task) return;
    tasks.delete(key);
    for (const event of workflow.updateTask(task.index, { type: "custom", title: title ?? task.title, status_indicator: "complete" })) emit(event);
  };

  const titles = new Map(turn.tools.map((tool) => [tool.name, tool]));
  const taskTitle = (name: string, args: string) => {
    const known = titles.get(name);
    if (!known) return `Running ${name}`;
    try {
      return known.title(JSON.parse(args || "{}"));
    } catch {
      return known.title({});
    }
  };

  let thoughtsStreamed = false;
  /** Whether the current model response streamed text deltas. */
  let textStreamed = false;
  /** Summary parts are numbered per reasoning item upstream; thought tasks number them across the response. */
  const summaryParts = new Map<string, number>();
  /** A Responses model's reasoning summary as it streams: one thought task per summary part. */
  function reasoningDelta(raw: unknown): void {
    const upstream = raw as { type?: string; item_id?: string; summary_index?: number; delta?: string; text?: string };
    if (upstream.type !== "response.reasoning_summary_text.delta" && upstream.type !== "response.reasoning_summary_text.done") return;
    const done = upstream.type === "response.reasoning_summary_text.done";
    if (!thoughtsStreamed) messages.end(citations.splice(0));
    thoughtsStreamed = true;
    const part = `${upstream.item_id}:${upstream.summary_index}`;
    if (!summaryParts.has(part)) summaryParts.set(part, summaryParts.size);
    for (const event of workflow.thought(summaryParts.get(part)!, (done ? upstream.text : upstream.delta) ?? "", done)) emit(event);
  }

  function translate(event: RunStreamEvent): void {
    if (event.type === "raw_model_stream_event") {
      const data = event.data;
      if (data.type === "output_text_delta") {
        messages.write(data.delta);
        textStreamed ||= data.delta !== "";
      } else if (data.type === "response_started") {
        workflow.newRound();
        summaryParts.clear();
        thoughtsStreamed = false;
        textStreamed = false;
      } else if (data.type === "model") reasoningDelta(data.event);
      return;
    }
    if (event.type !== "run_item_stream_event") return;
    const item = event.item;
    switch (event.name) {
      case "message_output_created": {
        if (item.type !== "message_output_item") break;
        const text = item.rawItem.content.map((part) => (part.type === "output_text" ? part.text : part.type === "refusal" ? part.refusal : "")).join("");
        // Its text streamed already: it ends the open message, or was ended (and shown) by a task.
        if (messages.open) endMessage(text);
        else if (text && !textStreamed) endMessage(text);
        break;
      }
      case "tool_called": {
        const raw = item.rawItem as { type: string; callId?: string; name?: string; arguments?: string };
        const key = raw.callId ?? newId("task");
        startTask(key, { type: "custom", title: raw.type === "function_call" ? taskTitle(raw.name ?? "tool", raw.arguments ?? "") : `Running ${raw.name ?? raw.type}`, status_indicator: "loading" });
        break;
      }
      case "tool_output": {
        const raw = item.rawItem as { callId?: string };
        if (raw.callId) completeTask(raw.callId);
        break;
      }
      case "handoff_requested": {
        const raw = item.rawItem as { callId: string };
        startTask(raw.callId, { type: "custom", title: "Handing off…", status_indicator: "loading" });
        break;
      }
      case "handoff_occurred": {
        if (item.type !== "handoff_output_item") break;
        completeTask(item.rawItem.callId, `Handed off to ${item.targetAgent.name}`);
        break;
      }
      case "reasoning_item_created": {
        // Responses models streamed their summaries already; others (Chat Completions) only say them here.
        if (item.type !== "reasoning_item" || thoughtsStreamed) break;
        const texts = [...item.rawItem.content.map((part) => part.text), ...(item.rawItem.rawContent ?? []).map((part) => part.text)].filter((text) => text.trim());
        for (const text of texts) startTask(newId("task"), { type: "thought", content: text, status_indicator: "complete" }, "reasoning");
        break;
      }
    }
  }

  const { input, lastAgent } = sdkHistory(turn.history);
  const boxTools = sdkTools(turn.tools);
  const start = agentNamed(turn.sdkAgent, lastAgent) ?? turn.sdkAgent;
  const entry = boxTools.length ? start.clone({ tools: [...start.tools, ...boxTools] }) : start;
  const runner = new Runner({
    modelProvider: new OpenAIProvider({ openAIClient: turn.client, useResponses: turn.agent.api === "responses" }),
    tracingDisabled: !turn.config.agentsSdk.tracing,
    traceIncludeSensitiveData: false,
    workflowName: `chatkit ${turn.agent.id}`,
    groupId: thread.id,
  });

  async function run(): Promise<void> {
    const releaseSlot = turn.acquireSlot();
    try {
      const result = await runner.run(entry, input, { stream: true, context, signal: turn.signal, maxTurns: turn.agent.maxToolRounds + 2 });
      for await (const event of result) translate(event);
      await result.completed;
      if (result.error) throw result.error;
      finishOpenWidgets(channel);
      endMessage();
      endWorkflow();
      if (messages.started.length === 0 && questions.length === 0) endMessage(typeof result.finalOutput === "string" ? result.finalOutput : JSON.stringify(result.finalOutput ?? ""));
      const record = newSdkAgentRun(thread.id, {
        agent: (result.lastAgent ?? start).name,
        items: result.output as unknown as Array<Record<string, unknown>>,
        covers: messages.started,
      });
      emit({ type: "thread.item.done", item: record });
      if (questions.length) emit({ type: "thread.item.done", item: structuredInputItem(thread.id, questions) });
    } catch (error) {
      if (turn.signal.aborted) throw error;
      if (error instanceof InputGuardrailTripwireTriggered || error instanceof OutputGuardrailTripwireTriggered) {
        // What the run said is withdrawn (an output guardrail stops an answer already streamed); the user reads why.
        finishOpenWidgets(channel);
        messages.discard();
        for (const id of messages.started) emit({ type: "thread.item.removed", item_id: id });
        endWorkflow();
        endMessage(guardrailText(error));
        return;
      }
      endWorkflow();
      if (error instanceof MaxTurnsExceededError) throw new ChatkitError(502, "tool_rounds_exceeded", {}, { allowRetry: true });
      if (error instanceof ChatkitError || error instanceof UpstreamError) throw error;
      turn.logger.error(`Agents SDK run failed in thread ${thread.id}`, error);
      throw new UpstreamError(`the agent run failed: ${(error as Error).message}`, { cause: error });
    } finally {
      releaseSlot();
    }
  }

  yield* drainWhile(channel, run(), turn.signal);
}
