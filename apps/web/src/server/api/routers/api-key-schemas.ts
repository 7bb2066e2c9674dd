import { z } from "zod";
import { API_KEY_SCOPES, type ApiKeyView } from "@tokenvault/token";
import { plainText, schemaOf } from "./schemas";

export const apiKeyId = z.uuid("Unknown API key.");
export const apiKeyScope = z.enum(API_KEY_SCOPES);

/** What an admin types: a name and at least one scope. */
export const apiKeyInput = z.object({
  name: plainText.trim().min(1, "Name the key.").max(100, "The name is too long."),
  scopes: z.array(apiKeyScope).min(1, "Choose at least one scope.").max(API_KEY_SCOPES.length),
});

export const apiKeyView = schemaOf<ApiKeyView>()(
  z.object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(apiKeyScope),
    createdBy: z.string(),
    createdAt: z.date(),
    lastUsedAt: z.date().nullable(),
    revokedAt: z.date().nullable(),
  }),
);

/** Creation answers the key: the only time it exists outside the client. */
export const createdApiKey = z.object({ apiKey: apiKeyView, key: z.string() });
