import type { NextConfig } from "next";

const config: NextConfig = {
  // Workspace packages export TypeScript source.
  transpilePackages: ["@tokenvault/kit", "@tokenvault/db", "@tokenvault/token", "@tokenvault/store", "@tokenvault/vault", "@tokenvault/worker"],
  // Loaded at run time from node_modules: PGlite reads its WASM and data files from disk,
  // and the pg driver has optional native bits a bundler should not touch.
  serverExternalPackages: ["@electric-sql/pglite", "pglite-prisma-adapter", "@prisma/adapter-pg", "pg", "@prisma/client", "pg-boss", "redis", "@upstash/redis", "rate-limiter-flexible", "pino", "prom-client"],
  poweredByHeader: false,
  experimental: {
    // src/proxy.ts runs on every page request, bodies included, and Next buffers a proxied
    // body up to this size: a server action's own limit (serverActions.bodySizeLimit), not 10 MB.
    proxyClientMaxBodySize: "1mb",
  },
  // No page may be framed (clickjacking on Connect/Disconnect), sniffed or leak its URL onward.
  // The Content-Security-Policy (with frame-ancestors 'none') and HSTS are per request, in
  // src/proxy.ts: a nonce changes with every page.
  headers: () =>
    Promise.resolve([
      {
        source: "/:path*",
        headers: [
          { key: "X-Frame-Options", value: "DENY" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
    ]),
};

export default config;
