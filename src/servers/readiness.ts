import net from 'node:net';

/** Whether a server answers yet; startServerProcess polls one of these until it does. */
export type ReadinessCheck = () => Promise<boolean>;

/**
 * True when the Redis at `address` (`{ path }` of a unix socket, or `{ port, host }`) answers
 * PING with PONG within `timeoutMs`.
 */
export function redisAnswers(address: net.NetConnectOpts, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(address);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** True when `url` answers HTTP with a status below 500. */
export function httpAnswers(url: string): Promise<boolean> {
  return fetch(url).then(
    (response) => response.status < 500,
    () => false,
  );
}
