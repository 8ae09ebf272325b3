import type { Http2Server } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { SINGLE_VALUE_HEADERS } from '../http/validation';


/**
 * Node's HTTP/2 layer keeps only the first `authorization` header of a request and joins repeated
 * custom headers with ", ", so a call could not tell that a key was sent twice. Before grpc-js
 * reads a request's headers, each of these keys sent more than once gets all its values back as a
 * list, which grpc-js turns into as many metadata values.
 */
function keepRepeatedValues(_stream: unknown, headers: Record<string, string | string[] | undefined>, _flags: number, rawHeaders: string[]): void {
  for (const key of SINGLE_VALUE_HEADERS) {
    const values: string[] = [];
    // Raw headers alternate name and value.
    for (let n = 0; n < rawHeaders.length; n += 2) if (rawHeaders[n] === key) values.push(rawHeaders[n + 1]);
    if (values.length > 1) headers[key] = values;
  }
}

/**
 * Has every HTTP/2 server of a bound grpc-js server keep repeated values. grpc-js keeps those
 * servers to itself (a private field, read here); should it stop, this fails at start rather
 * than let repeated metadata through unseen.
 */
export function keepRepeatedMetadata(server: Server): void {
  const http2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map)) throw new Error('grpc-js no longer keeps its HTTP/2 servers in http2Servers: repeated metadata cannot be checked');
  for (const http2Server of http2Servers.keys() as Iterable<Http2Server>) http2Server.prependListener('stream', keepRepeatedValues);
}
