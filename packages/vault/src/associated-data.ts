/**
 * Where a secret lives. It is authenticated with the ciphertext, so an envelope copied to
 * another tenant, provider, kind or external id does not open.
 */
export interface VaultBinding {
  companyId: string;
  provider: string;
  kind: string;
  externalId: string;
}

/**
 * Lone surrogates would all encode to U+FFFD in UTF-8, so two different bindings could share
 * associated data. Well-formed strings encode one-to-one, which keeps the encoding below unambiguous.
 */
export function isWellFormedBinding(binding: VaultBinding): boolean {
  const { companyId, provider, kind, externalId } = binding;
  return [companyId, provider, kind, externalId].every((field) => typeof field === "string" && field.isWellFormed());
}

/**
 * The associated data of an envelope: its header and the record it is bound to, as
 * length-prefixed fields in a fixed order, unambiguous whatever characters they hold.
 */
export function encodeAssociatedData(header: string, binding: VaultBinding): Buffer {
  const { companyId, provider, kind, externalId } = binding;
  return Buffer.from(
    `${header}\n${companyId.length}:${companyId}${provider.length}:${provider}${kind.length}:${kind}${externalId.length}:${externalId}`,
    "utf8",
  );
}

interface CachedEntry {
  header: string;
  provider: string;
  kind: string;
  data: Buffer;
}

/**
 * The same few records are sealed and opened over and over, and building (then hashing) the
 * text above on every call was a measurable share of a 2 KB round trip. Entries are found by
 * company and external id (a firm may hold hundreds of Xero tenants), then compared field by
 * field: no string is built on a hit. Bounded: cleared when full.
 */
export class AssociatedDataCache {
  private readonly byRecord = new Map<string, Map<string, CachedEntry[]>>();
  private size = 0;

  constructor(private readonly limit = 4096) {}

  get(header: string, binding: VaultBinding): Buffer {
    const entries = this.byRecord.get(binding.companyId)?.get(binding.externalId);
    if (entries) {
      for (const entry of entries) {
        if (entry.kind === binding.kind && entry.provider === binding.provider && entry.header === header) return entry.data;
      }
    }
    const data = encodeAssociatedData(header, binding);
    if (this.size >= this.limit) {
      this.byRecord.clear();
      this.size = 0;
    }
    let company = this.byRecord.get(binding.companyId);
    if (!company) this.byRecord.set(binding.companyId, (company = new Map<string, CachedEntry[]>()));
    const entry = { header, provider: binding.provider, kind: binding.kind, data };
    const list = company.get(binding.externalId);
    if (list) list.push(entry);
    else company.set(binding.externalId, [entry]);
    this.size++;
    return data;
  }
}
