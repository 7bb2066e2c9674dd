// Tests never leave the machine. Imported by every package's test setup (vitest setupFiles) and,
// through NODE_OPTIONS, by every Node process a test starts (the web server, worker processes,
// scripts): from then on a TCP or TLS connection to anything but loopback, and a DNS lookup of
// anything but localhost, throws at the call, before any socket exists or any query is sent.
// Loopback (127.0.0.0/8, ::1, localhost) and local sockets (a path) work as before.
import dns from "node:dns";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";
import tls from "node:tls";

const INSTALLED = Symbol.for("tokenvault.networkGuard");

export class NetworkGuardError extends Error {
  constructor(what) {
    super(`network guard: ${what} refused: tests never leave the machine (loopback only; inject a resolver for a "public" address)`);
    this.name = "NetworkGuardError";
    this.code = "ENETGUARD";
  }
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.x.y.z). */
export function isLoopbackAddress(address) {
  const bare = String(address).replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (net.isIPv4(bare)) return bare.startsWith("127.");
  if (!net.isIPv6(bare)) return false;
  if (bare === "::1" || bare === "0:0:0:0:0:0:0:1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return !!mapped && mapped[1].startsWith("127.");
}

/** localhost and its subdomains (RFC 6761: always loopback), or a loopback address. */
export function isLoopbackHost(host) {
  const name = String(host).toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost") || isLoopbackAddress(name);
}

const original = {
  socketConnect: net.Socket.prototype.connect,
  netConnect: net.connect,
  netCreateConnection: net.createConnection,
  tlsConnect: tls.connect,
  lookup: dns.lookup,
  promisesLookup: dns.promises.lookup,
};

/** The options a connect call was given, whichever of its forms it used (options, [options, cb] as net normalises it, port/host, path). */
function connectOptions(args) {
  const first = args[0];
  if (Array.isArray(first)) return first[0] ?? {};
  if (first !== null && typeof first === "object") return first;
  if (typeof first === "string" && !/^\d+$/.test(first)) return { path: first };
  return { port: first, host: typeof args[1] === "string" ? args[1] : undefined };
}

/** Throws unless the connection can only reach this machine; returns the host name whose lookup must be checked, if any. */
function checkConnect(options, kind) {
  if (typeof options.path === "string" && options.path) return null; // a local socket
  if (options.socket) return null; // TLS over a socket already connected (and checked)
  const host = options.host ?? options.hostname ?? "localhost";
  const target = `${kind} connection to ${host}:${options.port}`;
  if (net.isIP(String(host).replace(/^\[(.*)\]$/, "$1"))) {
    if (!isLoopbackAddress(host)) throw new NetworkGuardError(target);
    return null;
  }
  // A name: only with the test's own resolver (checked as it answers), or localhost.
  if (typeof options.lookup !== "function" && !isLoopbackHost(host)) throw new NetworkGuardError(`${target} (through the system resolver)`);
  return host;
}

/** Wraps a lookup so that every address it answers is loopback, else the connection fails with the guard's error. */
function guardedLookup(lookup) {
  return function lookupLoopbackOnly(hostname, options, callback) {
    if (typeof options === "function") [options, callback] = [{}, options];
    lookup(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const outside = addresses.find((a) => !isLoopbackAddress(a));
      if (outside !== undefined) return callback(new NetworkGuardError(`connection to ${hostname} (${outside})`), address, family);
      callback(null, address, family);
    });
  };
}

function withLookup(args, options) {
  const guarded = { ...options, lookup: guardedLookup(options.lookup ?? dns.lookup) };
  const first = args[0];
  if (Array.isArray(first)) {
    const normalized = [guarded, ...first.slice(1)];
    for (const symbol of Object.getOwnPropertySymbols(first)) normalized[symbol] = first[symbol];
    return [normalized, ...args.slice(1)];
  }
  const callback = args.find((arg) => typeof arg === "function");
  return callback ? [guarded, callback] : [guarded];
}

function install() {
  net.Socket.prototype.connect = function connect(...args) {
    const options = connectOptions(args);
    const host = checkConnect(options, "TCP");
    return original.socketConnect.apply(this, host === null ? args : withLookup(args, options));
  };
  // Checked before the socket object is made, too.
  const precheck = (connect, kind) =>
    function guardedConnect(...args) {
      checkConnect(connectOptions(args), kind);
      return connect.apply(this, args);
    };
  net.connect = precheck(original.netConnect, "TCP");
  net.createConnection = precheck(original.netCreateConnection, "TCP");
  tls.connect = precheck(original.tlsConnect, "TLS");

  dns.lookup = function lookup(hostname, ...rest) {
    if (!isLoopbackHost(hostname)) throw new NetworkGuardError(`DNS lookup of ${hostname}`);
    return original.lookup.call(this, hostname, ...rest);
  };
  dns.promises.lookup = function lookup(hostname, ...rest) {
    if (!isLoopbackHost(hostname)) throw new NetworkGuardError(`DNS lookup of ${hostname}`);
    return original.promisesLookup.call(this, hostname, ...rest);
  };
  // resolve* and reverse always ask a DNS server: refused whatever the name.
  const refuse = (name) =>
    function refused(hostname) {
      throw new NetworkGuardError(`DNS query ${name}(${hostname})`);
    };
  for (const target of [dns, dns.promises, dns.Resolver.prototype, dns.promises.Resolver.prototype]) {
    for (const name of Object.keys(target).concat(Object.getOwnPropertyNames(target))) {
      if ((name.startsWith("resolve") || name === "reverse" || name === "lookupService") && typeof target[name] === "function") target[name] = refuse(name);
    }
  }
  // `import { lookup } from "node:dns"` (and the like) see the guarded functions too.
  syncBuiltinESMExports();
}

/** Makes every Node process started from this one (with this environment) load the guard too. */
function propagate() {
  const flag = `--import=${import.meta.url}`;
  const current = process.env.NODE_OPTIONS ?? "";
  if (!current.includes(flag)) process.env.NODE_OPTIONS = `${current} ${flag}`.trim();
  // Tools a test may start that would otherwise report usage home (and meet the guard).
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  process.env.CHECKPOINT_DISABLE = "1";
}

if (!globalThis[INSTALLED]) {
  globalThis[INSTALLED] = true;
  install();
  propagate();
}
