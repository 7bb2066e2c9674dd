import Link from "next/link";
import { PROVIDER_ID_PATTERN } from "@tokenvault/token";
import { OrganisationPicker } from "~/components/organisation-picker";
import { currentCaller } from "~/server/api/services";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Where the OAuth callback sends an admin whose consent reached several organisations: the
 * connections it made, all ticked; unticking one disconnects it. The URL names only connection
 * ids (scoped to the caller's company by every query) and the provider, never a token.
 */
export default async function OrganisationsPage({ searchParams }: { searchParams: Promise<{ provider?: string; ids?: string }> }) {
  const { provider, ids } = await searchParams;
  const caller = await currentCaller();
  const connectionIds = [...new Set((ids ?? "").split(",").filter((id) => UUID.test(id)))].slice(0, 100);
  const valid = provider !== undefined && PROVIDER_ID_PATTERN.test(provider) && connectionIds.length > 0;
  return (
    <main>
      <h1>Choose the organisations to connect</h1>
      {!valid ? (
        <p className="card muted">
          Nothing to choose here. <Link href="/connections">Back to the connections</Link>
        </p>
      ) : caller?.role !== "admin" ? (
        <p className="card muted">Only administrators choose which organisations stay connected.</p>
      ) : (
        <OrganisationPicker provider={provider} connectionIds={connectionIds} />
      )}
    </main>
  );
}
