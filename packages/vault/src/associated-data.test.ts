import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AssociatedDataCache, encodeAssociatedData } from "./associated-data";

const bindingArb = fc.record({
  companyId: fc.string({ maxLength: 6 }),
  provider: fc.string({ maxLength: 6 }),
  kind: fc.string({ maxLength: 6 }),
  externalId: fc.string({ maxLength: 6 }),
});

describe("associated data", () => {
  it("gives two bindings the same bytes only when every field is equal, however characters shift between fields", () => {
    fc.assert(
      fc.property(bindingArb, bindingArb, fc.constantFrom("tv1.AAAAAAAA", "tv1.BBBBBBBB"), (a, b, header) => {
        const same = a.companyId === b.companyId && a.provider === b.provider && a.kind === b.kind && a.externalId === b.externalId;
        expect(encodeAssociatedData(header, a).equals(encodeAssociatedData(header, b))).toBe(same);
      }),
    );
    const shifted = [
      { companyId: "ab", provider: "c", kind: "K", externalId: "" },
      { companyId: "a", provider: "bc", kind: "K", externalId: "" },
    ];
    expect(encodeAssociatedData("h", shifted[0]!).equals(encodeAssociatedData("h", shifted[1]!))).toBe(false);
  });

  it("the cache always answers what encoding would, across hits, misses and clears", () => {
    // Few values per field, so bindings often share a company and differ in one field only.
    const few = (...values: string[]) => fc.constantFrom(...values);
    const nearBindingArb = fc.record({ companyId: few("acme", "globex"), provider: few("xero", "quickbooks"), kind: few("ACCESS_TOKEN", "REFRESH_TOKEN"), externalId: few("", "1", "2") });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("tv1.AAAAAAAA", "tv1.BBBBBBBB"), nearBindingArb), { maxLength: 40 }), (calls) => {
        const cache = new AssociatedDataCache(5);
        // Every call twice, so later ones hit entries of earlier ones (and of other bindings in the same company).
        for (const [header, binding] of [...calls, ...calls]) {
          expect(cache.get(header, { ...binding }).equals(encodeAssociatedData(header, binding))).toBe(true);
        }
      }),
    );
  });
});
