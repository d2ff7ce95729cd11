import type Keygrip from "keygrip";

/** How long a preview URL works after it was handed out. */
export const PREVIEW_URL_TTL_MS = 60 * 60 * 1000;

/**
 * Capability URLs for image previews. The browser loads `preview_url` in an `<img>`, which
 * cannot send a bearer header, so the URL itself carries the right to read one attachment's
 * bytes for a short while: an HMAC (the cookie keys, so key rotation applies) over the id and
 * the expiry. A fresh one is minted every time attachment JSON leaves the server.
 */
export class PreviewLinks {
  constructor(
    private readonly keys: Keygrip,
    private readonly now: () => number = Date.now,
  ) {}

  private static payload(attachmentId: string, expires: number): string {
    return `attachment-preview\n${attachmentId}\n${expires}`;
  }

  /** Absolute URL of the attachment's preview, valid for PREVIEW_URL_TTL_MS. */
  urlFor(attachmentId: string, publicBaseUrl: string): string {
    const expires = Math.floor((this.now() + PREVIEW_URL_TTL_MS) / 1000);
    const signature = this.keys.sign(PreviewLinks.payload(attachmentId, expires));
    return `${publicBaseUrl}/chatkit/attachments/${attachmentId}/preview?expires=${expires}&sig=${signature}`;
  }

  /** Whether `expires`/`sig` from a preview URL are ours, for this id, and not yet expired. */
  verify(attachmentId: string, expires: unknown, signature: unknown): boolean {
    if (typeof expires !== "string" || typeof signature !== "string" || !/^\d{1,12}$/.test(expires)) return false;
    if (Number(expires) * 1000 <= this.now()) return false;
    return this.keys.index(PreviewLinks.payload(attachmentId, Number(expires)), signature) !== -1;
  }
}
