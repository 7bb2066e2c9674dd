/**
 * The Content-Security-Policy of a page: scripts only with this request's nonce (Next puts it
 * on its own scripts when it finds it in the request's policy, so every page renders
 * dynamically) and what they load ('strict-dynamic'); no plugins, no <base>, no framing, forms
 * only to this origin. Inline event handlers have no nonce and never run. Development adds
 * 'unsafe-eval' (React's dev build needs it) and inline styles (the dev overlay).
 */
export function contentSecurityPolicy(nonce: string, options: { development: boolean; https: boolean }): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${options.development ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' ${options.development ? "'unsafe-inline'" : `'nonce-${nonce}'`}`,
    // style="" attributes: Next's built-in error pages use them; they cannot run script.
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(options.https ? ["upgrade-insecure-requests"] : []),
  ].join("; ");
}
