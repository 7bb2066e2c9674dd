import type { NextConfig } from "next";

const config: NextConfig = {
  // Workspace packages export TypeScript source.
  transpilePackages: ["@tokenvault/db", "@tokenvault/token"],
  // Loaded at run time from node_modules: PGlite reads its WASM and data files from disk,
  // and the pg driver has optional native bits a bundler should not touch.
  serverExternalPackages: ["@electric-sql/pglite", "pglite-prisma-adapter", "@prisma/adapter-pg", "pg", "@prisma/client"],
  poweredByHeader: false,
};

export default config;
