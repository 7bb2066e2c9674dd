import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "./pool";

const withCode = (message: string, code: string, extra: object = {}) => Object.assign(new Error(message), { code, ...extra });

describe("isDatabaseUnavailable", () => {
  it("recognises an unreachable, dropped or silent database, however it is wrapped", () => {
    const outages: [string, unknown][] = [
      ["Prisma: can't reach the server", withCode("Can't reach database server at db:5432", "P1001")],
      ["Prisma: server closed the connection", withCode("Server has closed the connection.", "P1017")],
      ["Prisma: pool timeout", withCode("Timed out fetching a new connection from the connection pool.", "P2024")],
      ["socket refused", withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED", { syscall: "connect" })],
      ["pg: connect timeout", new Error("Connection terminated due to connection timeout", { cause: new Error("Connection terminated unexpectedly") })],
      ["pg: pool wait", new Error("timeout exceeded when trying to connect")],
      ["pg: client-side query timeout", new Error("Query read timeout")],
      ["server: terminated by an administrator", withCode("terminating connection due to administrator command", "57P01")],
      ["server: statement timeout", withCode("canceling statement due to statement timeout", "57014")],
      ["server: connection failure class", withCode("connection failure", "08006")],
      ["wrapped by the adapter", Object.assign(new Error("DriverAdapterError"), { cause: { kind: "ConnectionClosed" } })],
      ["Prisma: transaction could not start", withCode("Transaction API error: Unable to start a transaction in the given time.", "P2028")],
    ];
    for (const [what, error] of outages) expect(`${what}: ${isDatabaseUnavailable(error)}`).toBe(`${what}: true`);
  });

  it("leaves every other error alone", () => {
    const others: [string, unknown][] = [
      ["unique constraint", withCode("Unique constraint failed on the fields: (`id`)", "P2002")],
      ["record not found", withCode("No record was found for a query.", "P2025")],
      ["syntax error", withCode('syntax error at or near "SELEC"', "42601")],
      ["a transaction timeout code without the message", withCode("Transaction already closed", "P2028")],
      ["a plain error", new Error("boom")],
      ["not an error", "Connection terminated"],
      ["nothing", undefined],
    ];
    for (const [what, error] of others) expect(`${what}: ${isDatabaseUnavailable(error)}`).toBe(`${what}: false`);
  });
});
