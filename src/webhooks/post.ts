import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  /**
   * Connect only to these (checked) addresses of the URL's host, whatever DNS answers by then: a
   * rebinding between the check and the connection cannot point the request elsewhere. Unset:
   * the host is looked up as usual.
   */
  addresses?: LookupAddress[];
}

/**
 * POSTs `body` to `url` and resolves with the answer's status code. The answer's body is never
 * read (a receiver's answer is not the engine's to keep) and redirects are not followed: the
 * connection is closed as soon as the status is in. Rejects with the connection's error.
 */
export function post(url: URL, { headers, body, signal, addresses }: PostOptions): Promise<number> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        signal,
        // A connection of its own: a pooled one could have been opened to an address checked for another request.
        agent: false,
        ...(addresses ? { lookup: pinnedLookup(addresses) } : {}),
      },
      (response) => {
        response.on('error', () => {});
        resolve(response.statusCode ?? 0);
        request.destroy();
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** A lookup answering with `addresses` only: all of them when asked for all (Happy Eyeballs), else the first. */
function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_host, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0].address, addresses[0].family);
  };
}
