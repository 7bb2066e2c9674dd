import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PICKER_OFFER_TTL_MS, PickerOffers } from "./picker-offers";

const SECRET = "a-session-secret-of-the-test-only-000000000";

describe("the organisation picker's signed offer", () => {
  const ids = [randomUUID(), randomUUID(), randomUUID()];

  it("verifies the ids it signed for the company, in any order, until it expires", () => {
    let now = Date.UTC(2026, 11, 7, 12);
    const offers = new PickerOffers(SECRET, () => now);
    const signature = offers.sign("acme", ids);
    expect(offers.verify({ ids: [...ids].reverse(), signature }, "acme")).toBe(true);
    now += PICKER_OFFER_TTL_MS - 1;
    expect(offers.verify({ ids, signature }, "acme")).toBe(true);
    now += 1;
    expect(offers.verify({ ids, signature }, "acme")).toBe(false);
  });

  it("refuses other ids, another company, another secret, a changed expiry and anything malformed", () => {
    const offers = new PickerOffers(SECRET);
    const signature = offers.sign("acme", ids);
    expect(offers.verify({ ids: ids.slice(0, 2), signature }, "acme")).toBe(false);
    expect(offers.verify({ ids: [...ids, randomUUID()], signature }, "acme")).toBe(false);
    expect(offers.verify({ ids, signature }, "globex")).toBe(false);
    expect(new PickerOffers(`${SECRET}x`).verify({ ids, signature }, "acme")).toBe(false);
    const [expiry, mac] = signature.split(".") as [string, string];
    expect(offers.verify({ ids, signature: `${Number(expiry) + 60_000}.${mac}` }, "acme")).toBe(false);
    for (const bad of ["", mac, `${expiry}.`, `${expiry}.${mac}x`, `x.${mac}`, `${expiry}.${mac.slice(1)}!`]) expect(offers.verify({ ids, signature: bad }, "acme")).toBe(false);
    expect(offers.verify(undefined, "acme")).toBe(false);
  });
});
