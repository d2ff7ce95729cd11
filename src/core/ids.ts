import { createHash, randomFillSync } from "node:crypto";

/** The protocol's id prefixes (chatkit-python's defaults), plus our own for server-side rows. */
export const ID_PREFIX = {
  thread: "thr",
  message: "msg",
  tool_call: "tc",
  workflow: "wf",
  task: "tsk",
  attachment: "atc",
  sdk_hidden_context: "shcx",
  sdk_hosted_call: "shc",
  account: "acct",
  user: "usr",
  session: "ses",
  login_link: "lnk",
  identity: "idn",
} as const;

export type IdKind = keyof typeof ID_PREFIX;

/**
 * Random bytes from the CSPRNG, drawn into a pool 4 KiB at a time (as `crypto.randomUUID` does):
 * a call into it per id cost more than the id's other work (3-4 us against 0.2). Each value is
 * read out of the pool once, as text, and never handed out again.
 */
const randomPool = Buffer.allocUnsafe(4096);
let randomOffset = randomPool.length;

function randomText(bytes: number): string {
  if (randomOffset + bytes > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const text = randomPool.toString("base64url", randomOffset, randomOffset + bytes);
  randomOffset += bytes;
  return text;
}

/** A random, unguessable id: the kind's prefix and 128 random bits. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${randomText(16)}`;
}

/** A bearer session token: 256 random bits. Only its hash is stored. */
export function newSessionToken(): string {
  return randomText(32);
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
