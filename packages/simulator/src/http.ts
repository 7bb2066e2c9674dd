import type { IncomingMessage } from "node:http";

/**
 * Handlers return a description of the response instead of writing to the socket,
 * so the server can apply faults after the handler committed its state changes
 * (e.g. rotate a refresh token, then "lose" the response).
 */
export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "invalid_request", "request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

/** Parses an application/x-www-form-urlencoded body; a repeated parameter is an error, as RFC 6749 §3.1 requires. */
export function parseForm(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    if (key in out) throw new HttpError(400, "invalid_request", `parameter "${key}" was given more than once`);
    out[key] = value;
  }
  return out;
}

export function parseJsonObject(raw: string): Record<string, unknown> {
  if (raw.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new HttpError(400, "invalid_request", "body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, "invalid_request", "body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/** Form body for OAuth endpoints; anything else is rejected the way real servers do. */
export async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const raw = await readBody(req);
  if (mediaType(req) !== "application/x-www-form-urlencoded") {
    throw new HttpError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded");
  }
  return parseForm(raw);
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): SimResponse {
  return {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      // Token responses must not be cached (RFC 6749 §5.1); harmless elsewhere.
      "cache-control": "no-store",
      pragma: "no-cache",
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

export function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}): SimResponse {
  return json(status, { error, error_description: description }, headers);
}

export function html(status: number, body: string): SimResponse {
  return {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      // The consent page has no scripts; forbid any, and framing (clickjacking).
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'",
      "x-frame-options": "DENY",
    },
    body,
  };
}

export function redirect(location: string): SimResponse {
  return { status: 302, headers: { location, "cache-control": "no-store" }, body: "" };
}

export function empty(status = 200): SimResponse {
  return { status, headers: { "cache-control": "no-store" }, body: "" };
}

export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    return value;
  }
}

/**
 * Reads HTTP Basic credentials. Both the raw and the form-decoded forms are returned
 * because RFC 6749 clients (openid-client) form-encode id and secret while others
 * (intuit-oauth) send them raw.
 */
export function parseBasicAuth(req: IncomingMessage): { raw: BasicCredentials; decoded: BasicCredentials } | "malformed" | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!match) return header.toLowerCase().startsWith("basic") ? "malformed" : undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return "malformed";
  const raw = { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
  return { raw, decoded: { clientId: formDecode(raw.clientId), clientSecret: formDecode(raw.clientSecret) } };
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
