import { describe, expect, it } from "vitest";
import { fromDefinition, QUICKBOOKS, QUICKBOOKS_ENDPOINTS, XERO } from "../providers/definitions";
import { callTarget } from "./api-url";

const quickbooks = { ...fromDefinition(QUICKBOOKS), endpoints: QUICKBOOKS_ENDPOINTS.sandbox };
const xero = { ...fromDefinition(XERO), endpoints: XERO.endpoints };

describe("callTarget", () => {
  it("puts QuickBooks calls below the realm, with requestid as the idempotency key", () => {
    const target = callTarget(quickbooks, "9130", "companyinfo/9130?minorversion=75", "req-1");
    expect(target.url.href).toBe("https://sandbox-quickbooks.api.intuit.com/v3/company/9130/companyinfo/9130?minorversion=75&requestid=req-1");
    expect(target.headers).toEqual({});
  });

  it("names the Xero organisation in xero-tenant-id and the key in Idempotency-Key", () => {
    const target = callTarget(xero, "tenant-a", "/Invoices", "k");
    expect(target.url.href).toBe("https://api.xero.com/api.xro/2.0/Invoices");
    expect(target.headers).toEqual({ "xero-tenant-id": "tenant-a", "idempotency-key": "k" });
  });

  it("accepts absolute URLs below the provider's API only", () => {
    expect(callTarget(xero, "t", "https://api.xero.com/connections", undefined).url.href).toBe("https://api.xero.com/connections");
    expect(() => callTarget(xero, "t", "https://evil.example/api.xro/2.0", undefined)).toThrow(/Only Xero's API/);
    expect(() => callTarget(xero, "t", "http://api.xero.com/connections", undefined)).toThrow(/Only Xero's API/);
  });

  it("refuses a path that climbs out of the tenant's base, and a realm-less QuickBooks connection", () => {
    expect(() => callTarget(quickbooks, "9130", "../4620/companyinfo/4620", undefined)).toThrow(/below the connection's API base/);
    expect(() => callTarget(quickbooks, null, "companyinfo/1", undefined)).toThrow(/no company id/);
  });
});
