// Prisma CLI configuration (Prisma 7). The CLI is only used where its schema engine
// can be downloaded; offline, `pnpm db:migrate` applies the same migrations itself.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: {
    // eslint-disable-next-line no-restricted-properties -- the CLI's own config, not app code
    url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/tokenvault",
  },
});
