import { describe, expect, it } from "vitest";
import { SingleFlight } from "./single-flight";

describe("SingleFlight", () => {
  it("shares one attempt per key while it runs, and starts a new one after it settles", async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const attempt = async () => {
      calls += 1;
      await gate;
      return calls;
    };
    const [a, b] = [flights.run("k", attempt), flights.run("k", attempt)];
    const other = flights.run("other", () => Promise.resolve(42));
    expect(flights.has("k")).toBe(true);
    release();
    expect(await Promise.all([a, b, other])).toEqual([1, 1, 42]);
    expect(flights.size).toBe(0);
    await expect(flights.run("k", attempt)).resolves.toBe(2);
  });

  it("forgets a failed attempt, so the next caller tries again", async () => {
    const flights = new SingleFlight<string>();
    await expect(flights.run("k", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    await expect(flights.run("k", () => Promise.resolve("up"))).resolves.toBe("up");
  });
});
