import type { StructuredInputItem } from "./items.ts";
import type { RequestParams } from "./requests.ts";

type Submission = RequestParams<"threads.add_structured_input">["input"];

/**
 * The answered copy of a structured_input item (protocol section 5.2): a skipped submission, or
 * an input with no, skipped or empty answer, is marked skipped; single-choice questions keep
 * only the first value; answers to unknown inputs are ignored.
 */
export function answerStructuredInput(item: StructuredInputItem, submission: Submission): StructuredInputItem {
  return {
    ...item,
    status: submission.status,
    inputs: item.inputs.map((input) => {
      const answer = Object.hasOwn(submission.answers, input.id) ? submission.answers[input.id] : undefined;
      if (submission.status === "skipped" || !answer || answer.skipped || answer.values.length === 0) {
        return { ...input, answer: { values: [], skipped: true } };
      }
      const values = input.type === "multiple_choice" && !input.multiple ? answer.values.slice(0, 1) : answer.values;
      return { ...input, answer: { values, skipped: false } };
    }),
  };
}
