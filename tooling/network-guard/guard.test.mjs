// The guard itself: every way out throws at the call (no socket handle, no query), loopback and
// local sockets still work, and a Node process started from a guarded one is guarded too.
// Only documentation addresses (203.0.113.0/24, 2001:db8::/32) and reserved names (.invalid) are named.
import "./guard.mjs";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import dns from "node:dns";
import { lookup as importedLookup } from "node:dns";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import tls from "node:tls";
import { isLoopbackAddress, isLoopbackHost, NetworkGuardError } from "./guard.mjs";

const refused = { name: "NetworkGuardError", code: "ENETGUARD" };

test("a TCP or TLS connection to a non-loopback address throws before a socket is made", () => {
  assert.throws(() => net.connect(443, "203.0.113.7"), refused);
  assert.throws(() => net.createConnection({ host: "2001:db8::7", port: 443 }), refused);
  assert.throws(() => tls.connect({ host: "203.0.113.7", port: 443 }), refused);
  // Through the Socket itself (how http's agent and fetch connect): no handle, nothing under way.
  const socket = new net.Socket();
  assert.throws(() => socket.connect(443, "203.0.113.7"), refused);
  assert.equal(socket.connecting, false);
  assert.equal(socket._handle, null);
  socket.destroy();
  assert.throws(() => http.get("http://203.0.113.7/"), refused);
});

test("a host name through the system resolver throws before any query; every DNS query does", async () => {
  assert.throws(() => net.connect(443, "hooks.example.invalid"), refused);
  assert.throws(() => dns.lookup("hooks.example.invalid", () => {}), refused);
  assert.throws(() => importedLookup("hooks.example.invalid", () => {}), refused);
  assert.throws(() => dns.promises.lookup("hooks.example.invalid"), refused);
  assert.throws(() => dns.resolve4("localhost", () => {}), refused);
  assert.throws(() => dns.promises.resolveTxt("hooks.example.invalid"), refused);
  assert.throws(() => new dns.Resolver().resolve6("hooks.example.invalid", () => {}), refused);
  assert.throws(() => dns.reverse("203.0.113.7", () => {}), refused);
  await assert.rejects(fetch("http://hooks.example.invalid/"), (error) => error.cause instanceof NetworkGuardError);
});

test("a test's own resolver may name a host, and what it answers is checked before connecting", async () => {
  const publicAnswer = (hostname, options, callback) => callback(null, [{ address: "203.0.113.7", family: 4 }]);
  const socket = net.connect({ host: "hooks.example.invalid", port: 443, lookup: publicAnswer });
  const [error] = await new Promise((resolve) => socket.once("error", (e) => resolve([e])));
  assert.ok(error instanceof NetworkGuardError, String(error));
});

test("loopback still works: 127.0.0.0/8, ::1, localhost, and a lookup of localhost", async () => {
  for (const address of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1"]) assert.equal(isLoopbackAddress(address), true, address);
  for (const address of ["203.0.113.7", "10.0.0.1", "2001:db8::1", "::ffff:203.0.113.7", "0.0.0.0", "::"]) assert.equal(isLoopbackAddress(address), false, address);
  assert.equal(isLoopbackHost("localhost"), true);
  assert.equal(isLoopbackHost("app.localhost"), true);
  assert.equal(isLoopbackHost("localhost.example.invalid"), false);
  const server = http.createServer((request, response) => response.end("here"));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  try {
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "here");
    assert.equal(await (await fetch(`http://localhost:${port}/`)).text(), "here");
    const viaResolver = (hostname, options, callback) => callback(null, [{ address: "127.0.0.1", family: 4 }]);
    const socket = net.connect({ host: "receiver.example.invalid", port, lookup: viaResolver });
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    socket.destroy();
    const { address } = await dns.promises.lookup("localhost", { family: 4 });
    assert.equal(address, "127.0.0.1");
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test("a Node process started from a guarded one is guarded too", () => {
  const child = spawnSync(process.execPath, ["-e", "require('node:net').connect(443, '203.0.113.7')"], { encoding: "utf8" });
  assert.notEqual(child.status, 0);
  assert.match(child.stderr, /network guard: TCP connection to 203\.0\.113\.7:443 refused/);
  const loopback = spawnSync(process.execPath, ["-e", "require('node:dns').lookup('localhost', (e) => process.exit(e ? 1 : 0))"], { encoding: "utf8" });
  assert.equal(loopback.status, 0, loopback.stderr);
});
