/** What the bare and peer targets share: reading a body, and serving a router on PORT until SIGTERM. */
import type Router from "@koa/router";
import Koa from "koa";
import type { IncomingMessage } from "node:http";

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Serves `router` on 127.0.0.1:PORT, prints `listening on <url>`, stops on SIGTERM. */
export function serve(router: Router): void {
  const app = new Koa();
  app.use(router.routes());
  const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    const address = server.address();
    console.log(`listening on http://127.0.0.1:${typeof address === "object" && address ? address.port : ""}`);
  });
  process.on("SIGTERM", () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
