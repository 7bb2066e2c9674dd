/**
 * Plays the user's part on a consent page the way a browser submits the form:
 * the selected company, every ticked organisation, and the button pressed.
 */
export interface ConsentResult {
  /** Where the provider redirected (the app's redirect_uri with code or error). */
  location: string;
  page: string;
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1]?.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)));
}

export async function consent(authorizeUrl: string, decision: "approve" | "deny" = "approve", opts: { tenants?: string[] } = {}): Promise<ConsentResult> {
  const pageResponse = await fetch(authorizeUrl, { redirect: "manual" });
  if (pageResponse.status === 302) return { location: pageResponse.headers.get("location")!, page: "" };
  const page = await pageResponse.text();
  if (pageResponse.status !== 200) throw new Error(`consent page answered ${pageResponse.status}: ${page}`);
  const formTag = /<form[^>]*>/.exec(page)![0];
  const action = new URL(attr(formTag, "action")!, authorizeUrl).toString();
  const form = new URLSearchParams();
  for (const input of page.match(/<input[^>]*>/g) ?? []) {
    const type = attr(input, "type");
    const name = attr(input, "name")!;
    const value = attr(input, "value")!;
    if (type === "hidden") form.append(name, value);
    if (type === "checkbox" && input.includes(" checked") && (!opts.tenants || opts.tenants.includes(value))) form.append(name, value);
  }
  const selected = /<select[^>]*name="([^"]+)"[^>]*>.*?<option value="([^"]+)" selected>/s.exec(page);
  if (selected) form.append(selected[1]!, selected[2]!);
  form.append("decision", decision);
  const answer = await fetch(action, { method: "POST", body: form, redirect: "manual" });
  if (answer.status !== 302) throw new Error(`decision answered ${answer.status}: ${await answer.text()}`);
  return { location: answer.headers.get("location")!, page };
}
