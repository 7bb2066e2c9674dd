import { ApiKeysBoard } from "~/components/api-keys-board";
import { currentCaller } from "~/server/api/services";

export default async function ApiKeysPage() {
  const caller = await currentCaller();
  if (caller?.role !== "admin") {
    return (
      <main>
        <h1>API keys</h1>
        <p role="alert" className="banner bad">
          Only administrators can manage API keys.
        </p>
      </main>
    );
  }
  return (
    <main className="wide">
      <h1>API keys</h1>
      <p className="lead">
        Keys for services in any language to list {caller.companyId}&apos;s connections, read their tokens and call the providers through the proxy over HTTP
        (<code>/api/v1</code>, described at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>). A key is shown once, when it is created; Tokenvault keeps only its hash.
      </p>
      <ApiKeysBoard />
    </main>
  );
}
