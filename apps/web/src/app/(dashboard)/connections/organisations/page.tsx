import Link from "next/link";
import { PROVIDER_ID_PATTERN } from "@tokenvault/token";
import { OrganisationPicker } from "~/components/organisation-picker";
import { currentCaller, pageContextDeps } from "~/server/api/services";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Where the OAuth callback sends an admin whose consent reached several organisations: the
 * connections it made, all ticked; unticking one disconnects it. The URL names only connection
 * ids (scoped to the caller's company by every query), the provider and the callback's signature
 * of those ids for this company (an hour), never a token: a link made up elsewhere is refused.
 */
export default async function OrganisationsPage({ searchParams }: { searchParams: Promise<{ provider?: string; ids?: string; offer?: string }> }) {
  const { provider, ids, offer } = await searchParams;
  const caller = await currentCaller();
  const connectionIds = [...new Set((ids ?? "").split(",").filter((id) => UUID.test(id)))].slice(0, 100);
  const valid = provider !== undefined && PROVIDER_ID_PATTERN.test(provider) && connectionIds.length > 0;
  const signed = { ids: connectionIds, signature: offer ?? "" };
  const offered = caller?.role === "admin" && valid && (await pageContextDeps.services()).pickerOffers.verify(signed, caller.companyId);
  return (
    <main>
      <h1>Choose the organisations to connect</h1>
      {!valid ? (
        <p className="card muted">
          Nothing to choose here. <Link href="/connections">Back to the connections</Link>
        </p>
      ) : caller?.role !== "admin" ? (
        <p className="card muted">Only administrators choose which organisations stay connected.</p>
      ) : !offered ? (
        <p role="alert" className="banner bad">
          This link does not come from a consent completed here in the last hour, so there is nothing to choose from it. Every organisation a consent granted stays connected; connect
          again to choose. <Link href="/connections">Back to the connections</Link>
        </p>
      ) : (
        <OrganisationPicker provider={provider} offer={signed} />
      )}
    </main>
  );
}
