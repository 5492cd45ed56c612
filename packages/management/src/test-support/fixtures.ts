import { ConnectionPool, type PoolConfigOptions, type PoolOptions } from '@pool/core';
import { SimulatedFactory } from '@pool/testkit';
import { createManagementApp, type ManagementApp, type ManagementAppOptions } from '../index.js';

export const READ_TOKEN = 'read-token-0123456789abcdef';
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

/** A pool over a simulated database (no latency unless asked). */
export async function simulatedPool(config: PoolConfigOptions = {}, options: PoolOptions = {}, factory = new SimulatedFactory()) {
  const pool = await ConnectionPool.create({ minSize: 1, maxSize: 4, initialSize: 1, ...config }, factory, options);
  return { pool, factory };
}

/** A request to a management app, with a token by default. */
export async function call(
  app: ManagementApp,
  method: string,
  path: string,
  init: { token?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: test responses are read field by field
): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  const token = init.token === undefined ? READ_TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined && method !== 'GET' && method !== 'HEAD') body = JSON.stringify(init.body);
  if (method === 'POST') headers['content-type'] ??= 'application/json';
  const response = await app.fetch(new Request(`http://localhost${path}`, { method, headers, ...(body === undefined ? {} : { body }) }));
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** An app over the given options, with both tokens. */
export function appWith(options: Omit<ManagementAppOptions, 'auth'> & Partial<Pick<ManagementAppOptions, 'auth'>>): ManagementApp {
  return createManagementApp({ auth: { readToken: READ_TOKEN, adminToken: ADMIN_TOKEN }, ...options });
}
