import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanModelTitle, titleFromText } from "../src/agents/titles.ts";

test("a thread's title is the first message's plain text: no fences, emphasis, links or list marks", () => {
  assert.equal(titleFromText("Show me code: ```python def add```"), "Show me code: python def add");
  assert.equal(titleFromText("**Plan** a [trip](https://example.com/rome) to `Rome`"), "Plan a trip to Rome");
  assert.equal(titleFromText("# Groceries\n- milk\n- bread"), "Groceries milk bread");
  assert.equal(titleFromText("```\nconst x = 1;\n```"), "const x = 1;");
  assert.equal(titleFromText("Is a < b && c > d?"), "Is a < b && c > d?", "plain characters stay as typed");
  assert.equal(titleFromText("<b>bold</b> words"), "bold words");
  assert.equal(titleFromText("```\n\n```"), null, "nothing to read: no title");
  assert.equal(cleanModelTitle('"**Rome** trip"'), "Rome trip");
});
