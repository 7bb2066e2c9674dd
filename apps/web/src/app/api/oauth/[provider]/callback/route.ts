import type { NextRequest } from "next/server";
import { oauthCallback } from "~/server/api/oauth-callback";
import { defaultContextDeps } from "~/server/api/services";

/** The provider's redirect after consent: see oauthCallback. */
export async function GET(request: NextRequest, { params }: { params: Promise<{ provider: string }> }) {
  return oauthCallback(defaultContextDeps, request, (await params).provider);
}
