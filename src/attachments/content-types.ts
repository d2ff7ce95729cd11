/**
 * What an upload claims to be and what it is: MIME type normalisation, the allow-list, magic
 * bytes, and which types may ever be shown inline on our origin. Pure functions, no I/O.
 */

export const GENERIC_MIME_TYPE = "application/octet-stream";

const MIME_TYPE_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

const ALIASES: Record<string, string> = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "application/x-pdf": "application/pdf",
};

/** `Image/PNG; charset=x` → `image/png`; undefined when it is not a well-formed type. */
export function normalizeMimeType(raw: string | undefined | null): string | undefined {
  const base = (raw ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (!MIME_TYPE_PATTERN.test(base)) return undefined;
  return ALIASES[base] ?? base;
}

/** The config's allow-list: exact types or `type/*`; an empty list allows every type. */
export function isAllowedMimeType(mimeType: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((entry) => {
    const pattern = entry.trim().toLowerCase();
    return pattern.endsWith("/*") ? mimeType.startsWith(pattern.slice(0, -1)) : normalizeMimeType(pattern) === mimeType;
  });
}

const EXTENSION_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
};

/**
 * The type an upload declares: its own Content-Type, or, when that says nothing (missing or
 * `application/octet-stream`, as curl sends for most files), the one its name's extension implies.
 */
export function declaredMimeType(contentType: string | undefined, fileName: string): string | undefined {
  const normalized = normalizeMimeType(contentType);
  if (contentType && contentType.trim() !== "" && normalized === undefined) return undefined;
  if (normalized && normalized !== GENERIC_MIME_TYPE) return normalized;
  const extension = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  return (extension && EXTENSION_TYPES[extension]) || GENERIC_MIME_TYPE;
}

/** Bytes needed to recognise every signature below. */
export const SNIFF_BYTES = 16;

const SIGNATURES: Array<{ mimeType: string; matches: (head: Buffer) => boolean }> = [
  { mimeType: "image/png", matches: (h) => h.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mimeType: "image/jpeg", matches: (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff },
  { mimeType: "image/gif", matches: (h) => ["GIF87a", "GIF89a"].includes(h.toString("latin1", 0, 6)) },
  { mimeType: "image/webp", matches: (h) => h.toString("latin1", 0, 4) === "RIFF" && h.toString("latin1", 8, 12) === "WEBP" },
  { mimeType: "application/pdf", matches: (h) => h.toString("latin1", 0, 5) === "%PDF-" },
];

/** The type the first bytes prove, for the formats we know by their magic bytes. */
export function sniffMimeType(head: Buffer): string | undefined {
  return SIGNATURES.find((signature) => signature.matches(head))?.mimeType;
}

/**
 * Whether the content contradicts the declared type: a declared PNG/JPEG/GIF/WEBP/PDF must
 * carry that format's magic bytes, and content that is one of those formats must not be
 * declared as something else (a generic `application/octet-stream` claims nothing).
 */
export function contradictsDeclaredType(declared: string, head: Buffer): boolean {
  const sniffed = sniffMimeType(head);
  const declaredHasSignature = SIGNATURES.some((signature) => signature.mimeType === declared);
  if (declaredHasSignature) return sniffed !== declared;
  return sniffed !== undefined && declared !== GENERIC_MIME_TYPE;
}

/**
 * Raster images a browser renders as a plain picture, never as a document that runs script.
 * Only these get a preview and are served inline; SVG is deliberately absent.
 */
const INLINE_SAFE_IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"]);

export function isPreviewableImage(mimeType: string): boolean {
  return INLINE_SAFE_IMAGE_TYPES.has(mimeType);
}

/** The longest display name kept, in characters. */
export const MAX_DISPLAY_NAME_LENGTH = 200;

// C0/C1 controls (NUL included) and the bidi overrides that can disguise an extension.
const UNSAFE_NAME_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The user's file name as display text only: no path parts, no control characters, at most
 * MAX_DISPLAY_NAME_LENGTH characters (keeping a short extension). Never used on disk.
 *
 * @example
 * displayName("../../etc/passwd") // "passwd"
 */
export function displayName(raw: string): string {
  const lastPart = raw.split(/[\\/]/).pop() ?? "";
  const cleaned = lastPart.replace(UNSAFE_NAME_CHARACTERS, "").trim();
  if (cleaned === "" || cleaned === "." || cleaned === "..") return "file";
  const characters = Array.from(cleaned);
  if (characters.length <= MAX_DISPLAY_NAME_LENGTH) return cleaned;
  const extension = /\.[A-Za-z0-9]{1,10}$/.exec(cleaned)?.[0] ?? "";
  return characters.slice(0, MAX_DISPLAY_NAME_LENGTH - extension.length).join("") + extension;
}
