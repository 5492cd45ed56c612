import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { InvalidConfigError } from '@pool/core';
import { createManagementApp, ManagementApp, type ManagementAppOptions } from './app.js';
import { isLoopbackHost } from './auth.js';

/** Options of {@link serveManagement}: where to listen, and either an app or the options to create one. */
export type ServeManagementOptions = (ManagementAppOptions | { app: ManagementApp }) & {
  /** The TCP port; `0` picks a free one (see `url`). Required. */
  port: number;
  /**
   * The interface to listen on. Default `'127.0.0.1'` (this machine only). Listening anywhere else
   * (`'0.0.0.0'`, a public address) needs authentication: without tokens it is refused. A specific
   * address is added to the app's `allowedHosts`; with a wildcard (`'0.0.0.0'`, `'::'`), list the names
   * clients use in `allowedHosts`, or they are refused (403).
   */
  host?: string;
};

/** A running management server. */
export interface ManagementServer {
  /** The app it serves. */
  readonly app: ManagementApp;
  /** The node:http server. */
  readonly server: Server;
  /** The address it listens on. */
  readonly host: string;
  readonly port: number;
  /** The base URL, e.g. `http://127.0.0.1:9470` (plus the app's `basePath`). */
  readonly url: string;
  /** Stops listening, closes open connections and the app's own monitors. Idempotent. */
  close(): Promise<void>;
}

/**
 * Runs the management app on its own HTTP server (through `@hono/node-server`), by default on
 * 127.0.0.1 only. Resolves once it listens.
 *
 * @example
 * ```ts
 * const server = await serveManagement({
 *   pools: { main: pool },
 *   auth: { readToken: process.env.POOL_READ_TOKEN, adminToken: process.env.POOL_ADMIN_TOKEN },
 *   port: 9470,
 * });
 * console.log(`dashboard: ${server.url}/dashboard`);
 * ```
 */
export async function serveManagement(options: ServeManagementOptions): Promise<ManagementServer> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidConfigError('options', options, 'must be { port, host?, pools, auth, ... } or { port, host?, app }');
  const { port, host = '127.0.0.1', ...rest } = options as ServeManagementOptions & Record<string, unknown>;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidConfigError('port', port, 'must be an integer between 0 and 65535 (0: any free port)');
  }
  if (typeof host !== 'string' || host.trim() === '')
    throw new InvalidConfigError('host', host, "must be a host name or address such as '127.0.0.1'");
  let app: ManagementApp;
  let owned = false;
  if ('app' in rest) {
    if (!(rest.app instanceof ManagementApp)) throw new InvalidConfigError('app', rest.app, 'must be an app from createManagementApp');
    if (Object.keys(rest).length > 1) {
      throw new InvalidConfigError(
        Object.keys(rest).find((k) => k !== 'app') as string,
        '[value]',
        'cannot be given with app (configure the app instead)',
      );
    }
    app = rest.app;
  } else {
    app = createManagementApp(rest as unknown as ManagementAppOptions);
    owned = true;
  }
  if (!app.authenticated && !isLoopbackHost(host)) {
    if (owned) app.close();
    throw new InvalidConfigError(
      'host',
      host,
      'is not a loopback address, and authentication is off: refusing to expose pool management to the network without a token (set auth: { readToken, adminToken }, or listen on 127.0.0.1)',
    );
  }
  // The address it listens on is a name clients may use (a wildcard address is not: give allowedHosts).
  if (host !== '0.0.0.0' && host !== '::' && !isLoopbackHost(host)) app.allowedHosts.add(host);
  const server = createAdaptorServer({
    fetch: (request, env) => app.hono.fetch(request, env),
    overrideGlobalObjects: false,
    hostname: host,
  }) as Server;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if (owned) app.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    app,
    server,
    host,
    port: address.port,
    url: `http://${shown}:${address.port}${app.basePath}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        if (owned) app.close();
      });
      return closing;
    },
  };
}
