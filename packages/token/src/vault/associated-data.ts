import type { VaultBinding } from "./vault";

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
  externalId: string;
  data: Buffer;
}

/**
 * The same few records are sealed and opened over and over, and building (then hashing) the
 * text above on every call was a measurable share of a 2 KB round trip. Entries are found by
 * company, then compared field by field: no string is built on a hit. Bounded: cleared when full.
 */
export class AssociatedDataCache {
  private readonly byCompany = new Map<string, CachedEntry[]>();
  private size = 0;

  constructor(private readonly limit = 4096) {}

  get(header: string, binding: VaultBinding): Buffer {
    const entries = this.byCompany.get(binding.companyId);
    if (entries) {
      for (const entry of entries) {
        if (
          entry.externalId === binding.externalId &&
          entry.kind === binding.kind &&
          entry.provider === binding.provider &&
          entry.header === header
        ) {
          return entry.data;
        }
      }
    }
    const data = encodeAssociatedData(header, binding);
    if (this.size >= this.limit) {
      this.byCompany.clear();
      this.size = 0;
    }
    const entry = { header, provider: binding.provider, kind: binding.kind, externalId: binding.externalId, data };
    const list = this.byCompany.get(binding.companyId);
    if (list) list.push(entry);
    else this.byCompany.set(binding.companyId, [entry]);
    this.size++;
    return data;
  }
}
