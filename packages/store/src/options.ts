import { Vault } from "@tokenvault/vault";
import { systemClock, type Clock } from "./clock";
import { StoreCodec } from "./codec";
import { storeKeyRingFromEnv } from "./env";

/** What every backend takes. */
export interface StoreOptions {
  /** Seals metadata and keys the blind indexes. Default: the vault key from the environment. */
  vault?: Vault;
  /** Separates stores that share a vault key and a backend. Default "tokenvault". */
  namespace?: string;
  clock?: Clock;
}

let defaultVault: Vault | undefined;

export function resolveOptions(options: StoreOptions): { codec: StoreCodec; clock: Clock; namespace: string } {
  const vault = options.vault ?? (defaultVault ??= new Vault(storeKeyRingFromEnv()));
  const namespace = options.namespace ?? "tokenvault";
  return { codec: new StoreCodec(vault, namespace), clock: options.clock ?? systemClock, namespace };
}
