import { createHmac, timingSafeEqual } from "node:crypto";

/** How long after the consent its organisation picker stays good. */
export const PICKER_OFFER_TTL_MS = 60 * 60_000;

/** The connections one consent made and the signature that proves it (the picker's URL carries both). */
export interface PickerOffer {
  ids: string[];
  signature: string;
}

/**
 * The organisation picker's link is signed. The OAuth callback that made the connections signs
 * their ids for the admin's company; the picker page and `connection.keep` accept only a set so
 * signed, for an hour. A link put together by anyone else (naming other connections of the
 * company, or another consent's) names no consent completed here, so the page cannot say "your
 * consent granted these" of it. The key is derived from SESSION_SECRET for this one use.
 */
export class PickerOffers {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHmac("sha256", secret).update("tokenvault:organisation-picker-offer:v1").digest();
  }

  /** `<expiry ms>.<HMAC>` over the company, the ids (in any order) and the expiry. */
  sign(companyId: string, ids: readonly string[]): string {
    const expiresAt = this.now() + PICKER_OFFER_TTL_MS;
    return `${expiresAt}.${this.mac(companyId, ids, expiresAt)}`;
  }

  /** True when the offer was signed here for exactly these ids of this company and has not expired. */
  verify(offer: PickerOffer | undefined, companyId: string): boolean {
    const parts = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(offer?.signature ?? "");
    if (!offer || !parts) return false;
    const expiresAt = Number(parts[1]);
    if (expiresAt <= this.now()) return false;
    const given = Buffer.from(parts[2]!);
    const expected = Buffer.from(this.mac(companyId, offer.ids, expiresAt));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(companyId: string, ids: readonly string[], expiresAt: number): string {
    const set = [...new Set(ids)].sort();
    return createHmac("sha256", this.key).update(JSON.stringify([companyId, set, expiresAt])).digest("base64url");
  }
}
