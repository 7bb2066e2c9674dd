import { describe, expect, it } from "vitest";
import { noticeFor } from "./notices";

describe("notices named in a URL", () => {
  it("shows a known code's text and the generic text for anything else, Object.prototype's names included", () => {
    expect(noticeFor("BAD_CREDENTIALS")).toBe("Unknown user or wrong password.");
    expect(noticeFor("ADMIN_ONLY")).toBe("Only administrators can connect, reconnect or disconnect a provider.");
    for (const code of ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "Your account is locked"]) {
      expect(noticeFor(code)).toBe("The connection could not be completed. Try again.");
    }
    expect(noticeFor(undefined)).toBeNull();
  });
});
