// The rules of what an admin sets on a connection (its name, tags and metadata) and of the
// list's filter. Input is checked against them before anything is read or written: bad input is
// INVALID_INPUT and changes nothing (connect/connection-editor.ts applies it; ConnectionStore writes).
import type { Connection } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import { z } from "zod";
import type { ConnectionUserMetadata } from "../types";

export const MAX_TAGS = 20;
export const MAX_TAG_LENGTH = 40;
export const MAX_NAME_LENGTH = 100;
/** Metadata is for labels and references (a customer number, an owner), not documents: 8 KiB as UTF-8 JSON. */
export const MAX_METADATA_BYTES = 8 * 1024;
const MAX_METADATA_KEY_LENGTH = 100;


// eslint-disable-next-line no-control-regex -- the point is to refuse control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A tag as stored: trimmed, lowercase; letters, digits and . _ : - (so it reads the same in a URL and a filter). */
export const tagSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(1, "A tag cannot be empty.")
  .max(MAX_TAG_LENGTH, `A tag has at most ${MAX_TAG_LENGTH} characters.`)
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}._:-]*$/u, "A tag holds letters, digits, '.', '_', ':' and '-', and starts with a letter or digit.");

/** A connection's tags: normalised, without repeats, sorted (so equal sets are stored alike). */
export const tagsSchema = z
  .array(tagSchema)
  .max(MAX_TAGS, `At most ${MAX_TAGS} tags.`)
  .transform((tags) => [...new Set(tags)].sort());

const metadataKey = z.string().min(1).max(MAX_METADATA_KEY_LENGTH).refine((key) => !CONTROL.test(key), "Remove control characters from metadata keys.");

export const metadataSchema = z
  .record(metadataKey, z.json())
  .refine((value) => Buffer.byteLength(JSON.stringify(value), "utf8") <= MAX_METADATA_BYTES, `Metadata is at most ${MAX_METADATA_BYTES} bytes as JSON.`)
  .transform((value) => value as ConnectionUserMetadata);

/** A name an admin gives; "" or null clears it (the provider's name shows again). */
const nameSchema = z
  .string()
  .trim()
  .max(MAX_NAME_LENGTH, `A name has at most ${MAX_NAME_LENGTH} characters.`)
  .refine((name) => !CONTROL.test(name), "Remove control characters from the name.")
  .nullable()
  .transform((name) => (name ? name : null));

/** What updateConnection may change; a field left out is kept. */
export const connectionSettingsSchema = z.strictObject({ name: nameSchema.optional(), tags: tagsSchema.optional(), metadata: metadataSchema.optional() });
export type ConnectionSettingsInput = z.input<typeof connectionSettingsSchema>;
export type ConnectionSettings = z.output<typeof connectionSettingsSchema>;

/** listConnections' filter: every tag named, and every metadata key equal to its value (simple values only). */
export const connectionFilterSchema = z.strictObject({
  tags: z.array(tagSchema).max(MAX_TAGS, `At most ${MAX_TAGS} tags.`).optional(),
  metadata: z.record(metadataKey, z.union([z.string().max(200), z.number(), z.boolean()])).optional(),
});
export type ConnectionFilter = z.output<typeof connectionFilterSchema>;
export type ConnectionFilterInput = z.input<typeof connectionFilterSchema>;

/** The input as the schema reads it, or INVALID_INPUT naming the first problem (nothing is written). */
export function parseOrRefuse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw new TokenError("INVALID_INPUT", `${where}${issue?.message ?? "Invalid input."}`);
}

/** True when a connection meets the filter (a metadata value matches when equal as JSON; a string also matches a number or boolean spelled alike, as a URL carries them). */
export function matchesFilter(connection: Pick<Connection, "tags" | "metadata">, filter: ConnectionFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.tags && !filter.tags.every((tag) => connection.tags.includes(tag))) return false;
  const metadata = (connection.metadata ?? {}) as Record<string, unknown>;
  for (const [key, wanted] of Object.entries(filter.metadata ?? {})) {
    const value = Object.hasOwn(metadata, key) ? metadata[key] : undefined;
    if (value !== wanted && !(typeof wanted === "string" && (typeof value === "number" || typeof value === "boolean") && String(value) === wanted)) return false;
  }
  return true;
}

/** The refusal of a read of a paused connection (getValidToken, fetch, getOAuthClient, check, refreshNow). */
export function connectionDisabled(connection: Pick<Connection, "id" | "disabledAt">): TokenError {
  return new TokenError("CONNECTION_DISABLED", "This connection is paused: an administrator can resume it. Nothing was revoked.", {
    details: { connectionId: connection.id, disabledAt: connection.disabledAt?.toISOString() ?? null },
  });
}

/** What a settings change or a pause answers with: the connection's settings afterwards. */
export interface ConnectionSettingsView {
  connectionId: string;
  customName: string | null;
  tags: string[];
  metadata: ConnectionUserMetadata;
  disabledAt: Date | null;
  disabledBy: string | null;
}
