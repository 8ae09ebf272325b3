import net from 'node:net';

/**
 * Ports this process handed out already: the OS may offer a just-closed port again at once, and a
 * caller that asks twice before binding either (an engine's HTTP and gRPC ports) would get one
 * port for both.
 */
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it), never one given before by this process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
