import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import ts from "typescript";

const SRC = path.resolve(import.meta.dirname, "../src");

/** Every TypeScript source under src/ (the built web client in src/webclient/dist is not source). */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "dist" || entry.name === "node_modules" ? [] : sourceFiles(file);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [file] : [];
  });
}

/** The folder of src/ a file belongs to; files directly in src/ (the entries) are "(root)". */
function folderOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length > 1 ? parts[0]! : "(root)";
}

/** One edge per pair of folders, with a file that makes it (for the failure message). */
type FolderGraph = Map<string, Map<string, string>>;

/** Which folder imports which: static imports and re-exports, type-only ones included, and `import()`. */
function folderGraph(): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const target = path.resolve(path.dirname(file), fileName);
      if (!target.startsWith(SRC + path.sep)) continue;
      const to = folderOf(target);
      if (to !== from && !graph.get(from)!.has(to)) graph.get(from)!.set(to, path.relative(SRC, file));
    }
  }
  return graph;
}

/** Each set of folders that import one another in a circle (Tarjan's strongly connected components, size > 1). */
function folderCycles(graph: FolderGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

/** The imports inside a cycle, one line each: "config -> agents (config/schema.ts)". */
function describeCycle(graph: FolderGraph, members: string[]): string {
  const inCycle = new Set(members);
  return members
    .flatMap((from) => [...(graph.get(from) ?? [])].filter(([to]) => inCycle.has(to)).map(([to, file]) => `  ${from} -> ${to} (${file})`))
    .join("\n");
}

const graphOf = (edges: Record<string, string[]>): FolderGraph =>
  new Map(Object.entries(edges).map(([from, tos]) => [from, new Map(tos.map((to) => [to, `${from}/x.ts`]))]));

describe("the folders of src/", () => {
  const graph = folderGraph();

  test("no folder imports another in a circle", () => {
    const cycles = folderCycles(graph);
    assert.deepEqual(cycles, [], `folders importing each other:\n${cycles.map((cycle) => describeCycle(graph, cycle)).join("\n\n")}`);
  });

  test("the kernel (core/) imports no other folder, and config/ nothing above it", () => {
    const imports = (folder: string) => [...(graph.get(folder)?.keys() ?? [])].sort();
    assert.deepEqual(imports("core"), []);
    // build/ says where the package's files are and imports nothing of ours.
    assert.deepEqual(imports("build"), []);
    assert.deepEqual(
      imports("config").filter((folder) => folder !== "core" && folder !== "build"),
      [],
      `config/ imports ${imports("config").join(", ")}`,
    );
  });

  test("http/ and pages/ do not import each other; only the composition root (server/) sees both", () => {
    assert.equal(graph.get("http")?.has("pages"), false);
    assert.equal(graph.get("pages")?.has("http"), false);
    const importersOfHttp = [...graph].filter(([, to]) => to.has("http")).map(([from]) => from);
    assert.deepEqual(importersOfHttp, ["server"]);
  });

  test("the check finds a circle, however long, and names the imports that make it", () => {
    assert.deepEqual(folderCycles(graphOf({ a: ["b"], b: ["c"], c: [] })), []);
    const cycles = folderCycles(graphOf({ core: [], config: ["agents", "core"], agents: ["limits"], limits: ["config"], http: ["config"] }));
    assert.deepEqual(cycles, [["agents", "config", "limits"]]);
    assert.match(describeCycle(graphOf({ a: ["b"], b: ["a"] }), ["a", "b"]), /a -> b \(a\/x\.ts\)\n {2}b -> a/);
  });
});
