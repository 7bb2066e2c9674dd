import { InMemoryTokenStore } from "../src/index";
import { storeLockConformance } from "./lock-conformance";
import { testVault } from "./conformance";

storeLockConformance("memory", ({ clock, namespace }) => {
  const store = new InMemoryTokenStore({ vault: testVault(), clock, namespace, sweepIntervalMs: 0 });
  return Promise.resolve({ lock: store, close: () => store.close() });
});
