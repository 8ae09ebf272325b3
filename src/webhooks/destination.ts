import dns, { type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { nonPublicRange } from './publicAddress';

/** A URL's host is, or resolves to, an address webhooks are not sent to. */
export class NonPublicAddress extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(host === address ? `${host} is a ${range} address` : `${host} resolves to ${address}, a ${range} address`);
  }
}

/** A URL's host as it is connected to: an IPv6 literal without its brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Every address a URL's host stands for (itself when it is a literal, which WHATWG URL parsing has
 * already normalised from decimal, hex or octal spellings; else what DNS answers now), when all of
 * them are public. One non-public answer is enough to refuse: which one a connection would use is
 * not the caller's to choose. Throws NonPublicAddress then, and DNS's own error when it has none.
 */
export async function publicAddressesOf(url: URL, signal?: AbortSignal): Promise<LookupAddress[]> {
  const host = hostOf(url);
  const family = isIP(host);
  const addresses = family ? [{ address: host, family }] : await unlessAborted(dns.promises.lookup(host, { all: true, verbatim: true }), signal);
  if (!addresses.length) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' });
  for (const { address } of addresses) {
    const range = nonPublicRange(address);
    if (range) throw new NonPublicAddress(host, address, range);
  }
  return addresses;
}

/** `work`, or the signal's reason as soon as it aborts: a DNS lookup itself cannot be cancelled. */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}
