import { createServer } from 'node:net';

/**
 * A free TCP port on 127.0.0.1: the OS picks it. There is a small race until a server binds it, and a
 * port picked here and then left unused is a port where nothing listens (a "dead" address for tests).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}
