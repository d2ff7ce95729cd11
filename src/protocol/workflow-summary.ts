import type { Task } from "./items.ts";

/**
 * The summary line of a workflow of tool calls (`workflow.type` "custom"), by the tasks' titles:
 * "Tool call: Looking up the weather", "2 tool calls: Search, Save the report". A duration
 * ("Thought for 0 s") says nothing about what ran.
 */
export function toolCallsSummary(tasks: Task[]): string {
  const titles = tasks.map((task) => (task.title ? task.title : task.type === "web_search" ? "Web search" : "Tool")).filter((title, i, all) => all.indexOf(title) === i);
  if (tasks.length <= 1) return `Tool call: ${titles[0] ?? "Tool"}`;
  return `${tasks.length} tool calls: ${titles.join(", ")}`;
}
