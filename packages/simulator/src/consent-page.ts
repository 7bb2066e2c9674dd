import { escapeHtml as e } from "./http";
import type { AuthorizationRequest } from "./state";

const STYLE = `
  body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.4rem; }
  fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  button { font-size: 1rem; padding: .5rem 1.25rem; border-radius: 6px; border: 1px solid #555; cursor: pointer; }
  button[value=approve] { background: #0b6e4f; color: #fff; border-color: #0b6e4f; }
  code { background: #f2f2f2; padding: 0 .25rem; }
  .sim { color: #777; font-size: .8rem; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${e(title)}</title><style>${STYLE}</style></head>
<body>
<main>
${body}
<p class="sim">Tokenvault OAuth simulator: not a real provider.</p>
</main>
</body>
</html>`;
}

export interface ConsentPageInput {
  providerName: string;
  clientName: string;
  decisionPath: string;
  request: AuthorizationRequest;
}

/** The consent screen. Plain form, no scripts: it works with a real browser click and with a scripted POST. */
export function renderConsentPage({ providerName, clientName, decisionPath, request }: ConsentPageInput): string {
  const scopes = request.scope.map((s) => `<li><code>${e(s)}</code></li>`).join("");
  let picker = "";
  if (request.companies.length > 0) {
    const options = request.companies
      .map((c, i) => `<option value="${e(c.realmId)}"${i === 0 ? " selected" : ""}>${e(c.name)} (realm ${e(c.realmId)})</option>`)
      .join("");
    picker = `<p><label for="realmId">Company</label><br><select id="realmId" name="realmId">${options}</select></p>`;
  }
  if (request.tenants.length > 0) {
    const boxes = request.tenants
      .map(
        (t) =>
          `<div><input type="checkbox" id="tenant-${e(t.tenantId)}" name="tenant" value="${e(t.tenantId)}" checked> <label for="tenant-${e(t.tenantId)}">${e(t.tenantName)}</label></div>`,
      )
      .join("");
    picker = `<fieldset><legend>Organisations to connect</legend>${boxes}</fieldset>`;
  }
  return page(
    `${providerName}: authorize ${clientName}`,
    `<h1>${e(clientName)} wants to connect to your ${e(providerName)} account</h1>
<p>It asks for:</p>
<ul>${scopes}</ul>
<form method="post" action="${e(decisionPath)}" data-request-id="${e(request.id)}">
<input type="hidden" name="request_id" value="${e(request.id)}">
${picker}
<div class="actions">
<button type="submit" name="decision" value="approve" aria-label="Approve">Approve</button>
<button type="submit" name="decision" value="deny" aria-label="Deny">Deny</button>
</div>
</form>`,
  );
}

/** Shown instead of redirecting when the redirect target itself cannot be trusted (RFC 6749 §4.1.2.1). */
export function renderErrorPage(providerName: string, error: string, description: string): string {
  return page(`${providerName}: ${error}`, `<h1>Authorization error</h1><p><strong>${e(error)}</strong></p><p>${e(description)}</p>`);
}
