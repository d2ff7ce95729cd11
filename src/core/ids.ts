import { createHash, randomBytes } from "node:crypto";

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
} as const;

export type IdKind = keyof typeof ID_PREFIX;

/** A random, unguessable id: the kind's prefix and 128 random bits. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${randomBytes(16).toString("base64url")}`;
}

/** A bearer session token: 256 random bits. Only its hash is stored. */
export function newSessionToken(): string {
  return randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
