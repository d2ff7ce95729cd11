/**
 * The terminal's view of `npm test` (a `node --test` reporter; the full TAP goes to the file the
 * `tap` reporter writes): a progress line in a terminal, then every failing test with its file
 * and error, and a closing summary whose last line is `tests: N passed, N failed` (CI reads it).
 * The exit code is node's own: non-zero when a test failed. Plain JavaScript: node loads
 * reporters before `--import tsx` applies.
 */
import path from "node:path";

/** @typedef {import("node:test/reporters").TestEvent} TestEvent */
/** @typedef {{ title: string, where: string, details: string }} Failure */

const MAX_ERROR_LINES = 12;
const MAX_STDERR_LINES = 8;
const relative = (/** @type {string | undefined} */ file) => (file ? path.relative(process.cwd(), file) : "(unknown file)");

/** Where the `tap` reporter of this run writes, from node's own flags, to say where the full output is. */
function tapDestination() {
  const flags = process.execArgv.flatMap((arg) => (arg.startsWith("--test-reporter") && arg.includes("=") ? [arg.split("=", 2)] : []));
  const reporters = flags.filter(([flag]) => flag === "--test-reporter").map(([, value]) => value);
  const destinations = flags.filter(([flag]) => flag === "--test-reporter-destination").map(([, value]) => value);
  return destinations[reporters.indexOf("tap")];
}

/** The message of what the test threw (node wraps it), at most a few lines. */
function errorText(/** @type {Error | undefined} */ error) {
  const cause = error?.cause;
  const thrown = cause instanceof Error ? cause : error;
  const lines = (thrown?.message || String(cause ?? thrown ?? "failed")).trimEnd().split("\n");
  return [...lines.slice(0, MAX_ERROR_LINES), ...(lines.length > MAX_ERROR_LINES ? [`… (${lines.length - MAX_ERROR_LINES} more lines in the TAP file)`] : [])].join("\n");
}

/** @param {AsyncIterable<TestEvent>} source */
export default async function* terminalReporter(source) {
  const interactive = process.stdout.isTTY === true;
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0 };
  /** @type {Failure[]} */
  const failures = [];
  /** Per file, the names of the tests now running at each nesting level (for "suite › test"). */
  /** @type {Map<string, string[]>} */
  const running = new Map();
  /** Per file, the last lines it wrote to stderr (what a file that fails to load said). */
  /** @type {Map<string, string[]>} */
  const stderr = new Map();
  let durationMs = 0;
  let progressShown = false;

  const progress = (/** @type {string | undefined} */ file) => {
    if (!interactive) return "";
    progressShown = true;
    return `\r\x1b[K${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ""}  ${relative(file)}`;
  };
  const clearProgress = () => (progressShown ? ((progressShown = false), "\r\x1b[K") : "");

  for await (const event of source) {
    switch (event.type) {
      case "test:start": {
        const names = running.get(event.data.file ?? "") ?? [];
        names[event.data.nesting] = event.data.name;
        names.length = event.data.nesting + 1;
        running.set(event.data.file ?? "", names);
        break;
      }
      case "test:stderr": {
        const lines = [...(stderr.get(event.data.file) ?? []), ...event.data.message.split("\n").filter((line) => line.trim() !== "")];
        stderr.set(event.data.file, lines.slice(-MAX_STDERR_LINES));
        break;
      }
      case "test:pass": {
        if (event.data.details.type === "suite") break;
        if (event.data.skip !== undefined) counts.skipped++;
        else if (event.data.todo !== undefined) counts.todo++;
        else counts.passed++;
        yield progress(event.data.file);
        break;
      }
      case "test:fail": {
        /** @type {Error & { failureType?: string }} */
        const error = event.data.details.error;
        // A suite fails because a test in it did: that test is the one to report.
        if (event.data.details.type === "suite" && error?.failureType === "subtestsFailed") break;
        if (event.data.todo !== undefined) {
          counts.todo++;
          break;
        }
        counts.failed++;
        const file = event.data.file;
        const names = (running.get(file ?? "") ?? []).slice(0, event.data.nesting);
        // A file that fails as a whole (it did not load, or exited early) is named by its path: show what it printed.
        const wholeFile = file !== undefined && event.data.name === file;
        const title = wholeFile ? `${relative(file)} (the file as a whole)` : [...names, event.data.name].join(" › ");
        const where = `${relative(file)}${event.data.line && !wholeFile ? `:${event.data.line}` : ""}`;
        const details = wholeFile && stderr.has(file) ? stderr.get(file).join("\n") : errorText(error);
        failures.push({ title, where, details });
        // In a terminal, say it at once; the summary repeats it with its error.
        if (interactive) yield `${clearProgress()}✗ ${title} (${where})\n${progress(file)}`;
        break;
      }
      case "test:diagnostic": {
        const duration = /^duration_ms ([\d.]+)$/.exec(event.data.message);
        if (event.data.nesting === 0 && duration) durationMs = Number(duration[1]);
        break;
      }
      default:
        break;
    }
  }

  let summary = clearProgress();
  if (failures.length > 0) {
    summary += `\n${failures.length} failing test${failures.length === 1 ? "" : "s"}:\n`;
    for (const failure of failures) {
      summary += `\n✗ ${failure.title}\n  at ${failure.where}\n${failure.details.replace(/^/gm, "    ")}\n`;
    }
    summary += "\n";
  }
  const others = [counts.skipped ? `${counts.skipped} skipped` : "", counts.todo ? `${counts.todo} todo` : ""].filter(Boolean);
  const tap = tapDestination();
  summary += `${others.length ? `${others.join(", ")}; ` : ""}took ${(durationMs / 1000).toFixed(1)} s${tap ? `; full TAP output in ${tap}` : ""}\n`;
  summary += `tests: ${counts.passed} passed, ${counts.failed} failed\n`;
  yield summary;
}
