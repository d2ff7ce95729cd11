import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { tempDataDir } from "./support/app.ts";
import { REPO_ROOT } from "./support/process.ts";

/** Runs `node --test` over `files` with the reporters `npm test` uses; the TAP goes to `tap`. */
function runSuite(files: string[], tap: string): Promise<{ code: number | null; stdout: string }> {
  const args = ["--test", "--test-reporter=./scripts/test-reporter.mjs", "--test-reporter-destination=stdout", "--test-reporter=tap", `--test-reporter-destination=${tap}`, ...files];
  // Without this, the inner runner would think it is a file of this run and talk to it instead.
  const env = { ...process.env, NODE_TEST_CONTEXT: undefined };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout }));
  });
}

describe("npm test's output", () => {
  let dir: string;
  const file = (name: string, source: string) => {
    writeFileSync(path.join(dir, name), source);
    return path.join(dir, name);
  };
  before(() => {
    dir = tempDataDir();
    mkdirSync(path.join(dir, "results"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("all passing: a few lines, ending with the counts; the full TAP in its file", async () => {
    const passing = file(
      "passing.test.mjs",
      `import { describe, test } from "node:test";\n` +
        `describe("a suite", () => { for (let i = 0; i < 30; i++) test("case " + i, () => {}); });\n` +
        `test("not here", { skip: "nothing to run it on" }, () => {});\n`,
    );
    const tap = path.join(dir, "results", "pass.tap");
    const { code, stdout } = await runSuite([passing], tap);
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split("\n");
    assert.ok(lines.length <= 5, `at most a few lines, got:\n${stdout}`);
    assert.match(lines.at(-2)!, new RegExp(`^1 skipped; took [\\d.]+ s; full TAP output in ${tap.replace(/[.]/g, "\\.")}$`));
    assert.equal(lines.at(-1), "tests: 30 passed, 0 failed");
    const fullTap = readFileSync(tap, "utf8");
    assert.match(fullTap, /^TAP version 13/);
    assert.equal(fullTap.match(/^\s*ok \d+ - case \d+$/gm)?.length, 30, "every test is in the TAP");
  });

  test("failures: each failing test named with its suite, file, line and error, then the counts; non-zero exit", async () => {
    const failing = file(
      "failing.test.mjs",
      `import assert from "node:assert/strict";\nimport { describe, test } from "node:test";\n` +
        `describe("totals", () => {\n  test("adds up", () => {});\n  test("rounds half up", () => { assert.equal(Math.round(2.5), 2); });\n});\n` +
        `test("another", () => { throw new Error("boom"); });\n`,
    );
    const broken = file("broken.test.mjs", `throw new Error("this file does not load");\n`);
    const { code, stdout } = await runSuite([failing, broken], path.join(dir, "results", "fail.tap"));
    assert.notEqual(code, 0);
    const relative = (name: string) => path.relative(REPO_ROOT, path.join(dir, name)).replace(/[.]/g, "\\.");
    assert.match(stdout, /3 failing tests:/);
    assert.match(stdout, new RegExp(`✗ totals › rounds half up\\n  at ${relative("failing.test.mjs")}:5\\n    Expected values to be strictly equal:\\n\\s*\\n    3 !== 2`));
    assert.match(stdout, new RegExp(`✗ another\\n  at ${relative("failing.test.mjs")}:7\\n    boom`));
    assert.match(stdout, new RegExp(`✗ ${relative("broken.test.mjs")} \\(the file as a whole\\)\\n  at ${relative("broken.test.mjs")}\\n[\\s\\S]*Error: this file does not load`));
    assert.doesNotMatch(stdout, /✗ totals\n/, "a suite is not a failure of its own");
    assert.equal(stdout.trimEnd().split("\n").at(-1), "tests: 1 passed, 3 failed");
  });
});
