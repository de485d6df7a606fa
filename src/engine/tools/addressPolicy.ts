/**
 * Which hosts web_fetch may reach: a URL's host is resolved, every address must be a public unicast
 * one (or named in allowHosts), and the address handed back is the one the request must connect to.
 */
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/** Resolves a host name to its addresses; `dns.promises.lookup(host, { all: true })` unless a test injects one. */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/** A host checked and pinned: connect to `address`, send `host` as the Host header and TLS name. */
export type CheckedHost = { ok: true; address: string; family: 4 | 6 } | { ok: false; reason: string };

/** Names that are internal whatever they resolve to: cloud metadata services and local-only names. */
const BLOCKED_NAMES = new Set(['localhost', 'metadata', 'metadata.google.internal', 'instance-data']);
const BLOCKED_SUFFIXES = ['.localhost', '.internal', '.local', '.localdomain', '.home.arpa'];

const METADATA_ADDRESSES = new Set(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200']);

const RANGE_WORDS: Record<string, string> = {
  private: 'a private address',
  loopback: 'a loopback address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  carrierGradeNat: 'a shared (CGNAT) address',
  reserved: 'a reserved address',
};

/** The host of a URL as written for checks: lower case, IPv6 brackets and a trailing dot removed. */
export function bareHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/** An IP address in its canonical form (IPv4-mapped IPv6 as the IPv4 it maps), or null for a name. */
function canonicalIp(text: string): string | null {
  if (!ipaddr.isValid(text)) return null;
  return ipaddr.process(text).toString();
}

/** A set of allowed hosts: names in lower case, IPs in their canonical form. */
export function allowSet(allowHosts: readonly string[]): ReadonlySet<string> {
  return new Set(allowHosts.map((h) => canonicalIp(bareHost(h)) ?? bareHost(h)));
}

/**
 * Why an IP address must not be reached ("a private address", "maps to 127.0.0.1, a loopback address"),
 * or null when it is a public unicast address.
 */
export function addressRefusal(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const plain = ipaddr.process(address).toString();
  const mapped = plain !== ipaddr.parse(address).toString() ? `maps to ${plain}, ` : '';
  if (METADATA_ADDRESSES.has(plain)) return `${mapped}the cloud metadata address`;
  const range = ipaddr.process(address).range();
  if (range === 'unicast') return null;
  return `${mapped}${RANGE_WORDS[range] ?? `a special-purpose (${range}) address`}`;
}

/** Why a host name must not be reached before it is even resolved, or null. */
export function nameRefusal(host: string): string | null {
  if (BLOCKED_NAMES.has(host) || BLOCKED_SUFFIXES.some((s) => host.endsWith(s)))
    return `${host} is an internal host name`;
  return null;
}

function familyOf(address: string): 4 | 6 {
  return ipaddr.parse(address).kind() === 'ipv6' ? 6 : 4;
}

function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Resolves `hostname` and checks every address it resolves to. A host or address in `allowed` is the
 * only way past the checks. Rethrows an abort of `signal`; every other failure is a refusal.
 */
export async function checkHost(
  hostname: string,
  allowed: ReadonlySet<string>,
  resolve: Resolver,
  signal?: AbortSignal,
): Promise<CheckedHost> {
  const host = bareHost(hostname);
  const literal = canonicalIp(host);
  const hostAllowed = allowed.has(literal ?? host);
  if (!hostAllowed && literal === null) {
    const refusal = nameRefusal(host);
    if (refusal) return { ok: false, reason: `refused: ${refusal}` };
  }
  let addresses: string[];
  if (literal !== null) addresses = [host];
  else {
    try {
      addresses = await abortable(resolve(host), signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      return { ok: false, reason: `could not resolve ${host}` };
    }
  }
  const valid = addresses.filter((a) => ipaddr.isValid(a));
  if (valid.length === 0) return { ok: false, reason: `could not resolve ${host}` };
  if (!hostAllowed) {
    for (const address of valid) {
      if (allowed.has(ipaddr.process(address).toString())) continue;
      const refusal = addressRefusal(address);
      if (!refusal) continue;
      const reason = literal ? `${host} is ${refusal}` : `${host} resolves to ${address}, ${refusal}`;
      return { ok: false, reason: `refused: ${reason.replace(' is maps to', ' maps to')}` };
    }
  }
  const address = valid[0]!;
  return { ok: true, address, family: familyOf(address) };
}
