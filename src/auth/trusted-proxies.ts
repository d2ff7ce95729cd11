import { BlockList, isIP } from "node:net";
import type { Context, Next } from "koa";

const FORWARDED_HEADERS = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"];

/** `::ffff:10.0.0.5` (an IPv4 peer on a dual-stack socket) as `10.0.0.5`. */
function plainAddress(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The reverse proxies of `server.trustProxy` (addresses and CIDR blocks). Only a connection from
 * one of them may say, in `X-Forwarded-*`, who the client is and how it reached us, or name the
 * signed-in user in `signIn.proxy.header`.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly none: boolean;

  constructor(entries: string[]) {
    this.none = entries.length === 0;
    for (const entry of entries) {
      const [address, prefix] = entry.split("/") as [string, string | undefined];
      const type = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(prefix), type);
    }
  }

  trusts(address: string | undefined): boolean {
    if (this.none || !address) return false;
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 6 ? "ipv6" : "ipv4");
  }

  /** Whether the connection itself (not what a header claims) comes from a trusted proxy. */
  fromProxy(ctx: Context): boolean {
    return this.trusts(ctx.req.socket.remoteAddress);
  }

  /**
   * First middleware: from a trusted proxy, the client is the nearest `X-Forwarded-For` entry
   * that is not itself a trusted proxy (entries further left are whatever the client wrote);
   * from anyone else the forwarded headers are dropped, so Koa (`proxy` on) sees the bare
   * connection. Everything after it (the throttle's address, `ctx.secure`, cookies) can trust
   * `ctx.ip` and `ctx.protocol`.
   */
  middleware() {
    return (ctx: Context, next: Next): Promise<void> => {
      const headers = ctx.req.headers;
      if (!this.fromProxy(ctx)) {
        for (const name of FORWARDED_HEADERS) delete headers[name];
        return next();
      }
      const chain = String(headers["x-forwarded-for"] ?? "")
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean);
      let client = plainAddress(ctx.req.socket.remoteAddress ?? "");
      for (let index = chain.length - 1; index >= 0; index--) {
        client = plainAddress(chain[index]!);
        if (!this.trusts(client)) break;
      }
      ctx.request.ip = client;
      return next();
    };
  }
}
