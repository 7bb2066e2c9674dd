import type { TestProject } from "vitest/node";
import { createTestDatabase } from "@tokenvault/db/testing";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** One fresh, migrated PostgreSQL database per test run, dropped at the end. */
export default async function setup(project: TestProject) {
  const database = await createTestDatabase("worker");
  project.provide("databaseUrl", database.url);
  return () => database.drop();
}
