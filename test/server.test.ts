import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { parseConfig } from "../src/config/load.ts";
import { McpRegistry } from "../src/mcp/registry.ts";
import { createApp } from "../src/server/app.ts";
import { createServices } from "../src/server/services.ts";
import { openStore } from "../src/store/index.ts";
import { memoryLogger, TEST_AGENT, tempDataDir } from "./support/app.ts";

const HOUR_MS = 60 * 60 * 1000;

test("the unsent-upload sweep runs while the app is open, and closing the app stops it", async (t) => {
  const dataDir = tempDataDir();
  const config = parseConfig({ agents: [TEST_AGENT], dataDir, chatkit: { unsentAttachmentTtlHours: 1 } });
  const store = await openStore(config);
  try {
    let sweeps = 0;
    const deleteUnsentBefore = store.attachments.deleteUnsentBefore.bind(store.attachments);
    store.attachments.deleteUnsentBefore = (cutoff) => {
      sweeps += 1;
      return deleteUnsentBefore(cutoff);
    };
    t.mock.timers.enable({ apis: ["setInterval"] });
    const app = createApp(config, { store, logger: memoryLogger() });
    t.mock.timers.tick(HOUR_MS);
    assert.equal(sweeps, 1, "swept once an hour");
    await app.close();
    t.mock.timers.tick(3 * HOUR_MS);
    assert.equal(sweeps, 1, "no sweep after close");
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("services built first serve the app; MCP connections passed in are left to whoever passed them", async () => {
  const dataDir = tempDataDir();
  const config = parseConfig({ agents: [TEST_AGENT], dataDir });
  const store = await openStore(config);
  const logger = memoryLogger();
  const mcp = new McpRegistry(config, logger);
  let closedMcp = 0;
  const closeMcp = mcp.close.bind(mcp);
  mcp.close = () => {
    closedMcp += 1;
    return closeMcp();
  };
  try {
    const services = createServices(config, { store, logger, mcp });
    const app = createApp(config, { services });
    assert.equal(app.services, services);
    assert.equal(app.services.mcp, mcp);
    await app.close();
    assert.equal(closedMcp, 0, "the caller's registry stays open");

    const own = createApp(config, { store, logger });
    assert.notEqual(own.services.mcp, mcp);
    const closeOwn = own.services.mcp.close.bind(own.services.mcp);
    let closedOwn = 0;
    own.services.mcp.close = () => {
      closedOwn += 1;
      return closeOwn();
    };
    await own.close();
    assert.equal(closedOwn, 1, "a registry the app made is closed with it");
  } finally {
    await mcp.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
