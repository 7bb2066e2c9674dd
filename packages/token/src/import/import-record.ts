// One record to import (tokenService.importConnection, one line of `pnpm token:import`): its
// shape, checked before anything else happens. Messages name fields, never values: a record
// carries tokens.
import { TokenError } from "@tokenvault/vault";
import { z } from "zod";

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, "must be 1-128 letters, digits, '.', '_', ':', '@' or '-'");
const token = z.string().min(1, "must not be empty").max(32 * 1024, "is too long");

/** Strict: an unknown field (`access_token` for `accessToken`) is refused, not ignored. */
export const importRecordSchema = z
  .object({
    companyId: name,
    provider: z.string().min(1).max(64),
    accessToken: token.optional(),
    refreshToken: token,
    /** When the access token expires: an ISO 8601 time or a Date. */
    expiresAt: z.union([z.date(), z.iso.datetime({ offset: true }).transform((value) => new Date(value))]).optional(),
    /** QuickBooks: the company (realm) the tokens are for. */
    realmId: name.optional(),
    /** Xero: the organisations to connect (default: every one the grant reaches). */
    tenantIds: z.array(name).min(1).max(50).optional(),
    scopes: z.array(z.string().min(1).max(200)).max(50).optional(),
    /** Non-secret facts from the system the tokens come from, kept on the grant (never put a secret here). */
    metadata: z
      .record(z.string().max(64), z.union([z.string().max(500), z.number(), z.boolean(), z.null()]))
      .refine((value) => Object.keys(value).length <= 20, "has more than 20 keys")
      .optional(),
    displayName: z.string().min(1).max(200).optional(),
  })
  .strict();

export type ImportRecordInput = z.input<typeof importRecordSchema>;
export type ImportRecord = z.output<typeof importRecordSchema>;

/** The record, checked; INVALID_INPUT naming each field at fault (never its value). */
export function parseImportRecord(input: unknown): ImportRecord {
  const parsed = importRecordSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.join(".");
    if (issue.code === "unrecognized_keys") return `unknown field(s) ${issue.keys.join(", ")}`;
    if (issue.code === "invalid_type" && issue.input === undefined) return `${path} is required`;
    return `${path || "record"} ${issue.code === "invalid_type" ? `must be ${issue.expected}` : issue.message}`;
  });
  throw new TokenError("INVALID_INPUT", `The import record is not valid: ${[...new Set(problems)].join("; ")}.`);
}
