import type { Server } from "node:http";
import { ConfigError, loadConfig } from "./config/load.ts";
import { describeProbe, probeUpstreams } from "./agents/probe.ts";
import { describeUpstream, upstreamOf } from "./agents/upstream.ts";
import { recoverInterruptedUploads } from "./attachments/sweep.ts";
import { createLogger } from "./core/logger.ts";
import { firstSignInLink } from "./auth/login-links.ts";
import { serverBaseUrl } from "./ops/login-link.ts";
import { createApp, createHttpServer } from "./server/app.ts";
import { createServices } from "./server/services.ts";
import { lockDataDir } from "./store/data-dir-lock.ts";
import { openStore } from "./store/index.ts";

/**
 * Loads the config, locks the data dir when it holds the database (one server per SQLite file;
 * restore refuses while it is held; PostgreSQL serves several), opens the store, serves; stops
 * gracefully on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  const config = await loadConfig();
  const releaseLock = config.database.url ? () => {} : lockDataDir(config.dataDir);
  const store = await openStore(config);
  const logger = createLogger(config.server.logFormat);
  const services = createServices(config, { store, logger });
  const storage = services.files;
  let app;
  try {
    await storage.check().catch((error: Error) => {
      throw new Error(`attachment storage ${storage.description} does not answer: ${error.message || error.name}`);
    });
    // Only a lone server may reset uploads it finds mid-way: with a shared database another
    // server may be receiving them right now (the unsent-upload sweep cleans up there).
    if (!config.database.url) {
      const recovered = await recoverInterruptedUploads(store.attachments, storage);
      if (recovered.uploads + recovered.tempFiles > 0) {
        logger.info(`recovered from an interrupted run: ${recovered.uploads} upload(s) made retryable, ${recovered.tempFiles} temporary file(s) removed`);
      }
    }
    app = createApp(config, { services });
  } catch (error) {
    await services.close();
    await store.close();
    throw error;
  }
  const server: Server = createHttpServer(app, config).listen(config.server.port, config.server.host);
  // Installed before anything is announced: a signal right after "listening" must stop gracefully too.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing in-flight requests, then closing the database`);
    const forceExit = setTimeout(() => {
      logger.error("in-flight requests did not finish in 10 s; closing anyway");
      server.closeAllConnections();
    }, 10_000);
    forceExit.unref();
    server.close(async () => {
      // An MCP server that will not stop cannot hold the shutdown (stdio ones are killed by then).
      await Promise.race([services.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      await store.close();
      releaseLock();
      logger.info("stopped");
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.server.port;
  logger.info(`chatkit listening on http://${config.server.host}:${port} (database: ${store.description}; data dir: ${config.dataDir})`);
  logger.info(`attachments: ${storage.description}`);
  if (config.database.url && config.storage.type === "dataDir") {
    logger.info("warning: attachments are kept in this server's data dir; several servers need storage they share (storage.type \"s3\")");
  }
  for (const agent of config.agents) {
    const hint = agent.respond || upstreamOf(config, agent) ? "" : "; set OPENAI_API_KEY or OPENAI_BASE_URL to use a model";
    logger.info(`agent "${agent.id}": ${describeUpstream(config, agent)}${hint}`);
  }
  const firstLink = await firstSignInLink(store, config, serverBaseUrl({ ...config, server: { ...config.server, port } }));
  if (firstLink) {
    logger.info(
      `nobody has signed in yet: open this single-use link to sign in as the first administrator, ${firstLink.email} ` +
        `(valid ${config.signIn.linkMinutes} minutes; a restart prints a new one until someone signs in; ` +
        `later links: npm run --silent login-link -- <email>):\n\n    ${firstLink.url}\n`,
    );
  }
  // Whether each model answers, said once it is known; start-up does not wait for it.
  void probeUpstreams(config, { metrics: services.metrics }).then((probes) => {
    for (const agent of config.agents) {
      const probe = probes.get(agent.id);
      if (probe?.ok) logger.info(`agent "${agent.id}": ${describeProbe(config, agent, probe)}`);
      else if (probe) logger.error(`agent "${agent.id}": ${describeProbe(config, agent, probe)}; its chats fail until it does (npm run check tells again)`);
    }
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error(`chatkit failed to start: ${(error as Error).message ?? error}`);
  }
  process.exit(1);
});
