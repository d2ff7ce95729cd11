import type { Source } from "../../protocol/items.ts";
import type { StreamingContext, StructuredInputQuestion } from "../../tools/define.ts";

/**
 * The run context an Agents SDK agent's tools get (`runContext.context`): the helpers config
 * tools have, streaming into the same turn.
 *
 * @example
 * tool<typeof params, ChatKitAgentContext>({ ..., execute: async (args, runContext) => runContext!.context.widget(card) })
 */
export interface ChatKitAgentContext extends StreamingContext {
  /** Cites a source: an annotation on the answer written next. */
  cite(source: Source): void;
  /** Asks the user (a `structured_input` item after the run); their answers start the next turn. */
  askUser(questions: StructuredInputQuestion[]): void;
}
