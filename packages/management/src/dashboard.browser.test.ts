// The web dashboard in a real browser: headless Chromium (Debian's /usr/bin/chromium, which .ci/run
// installs) driven by playwright-core, against a running app whose pool is put under load. Every figure
// the page shows is compared with the very /overview response it was drawn from, and with the API.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectionPool, type PooledConnection, QueuePriority } from '@pool/core';
import { LeakDetector } from '@pool/monitoring';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { PriorityWaitQueue } from '@pool/queue';
import { type SimulatedConnection, SimulatedFactory } from '@pool/testkit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ManagementServer, serveManagement } from './index.js';
import { ADMIN_TOKEN, READ_TOKEN } from './test-support/fixtures.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');
const ARTIFACTS = join(PACKAGE, 'artifacts');

// biome-ignore lint/suspicious/noExplicitAny: API responses are read field by field
type Json = any;

/** The few DOM members the page is read with (this package compiles without the DOM library). */
interface El {
  readonly id: string;
  readonly children: ArrayLike<El>;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}
interface Doc {
  getElementById(id: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}

interface Shown {
  pool: string;
  timestamp: number;
  figures: Record<string, string>;
  queue: Record<string, string>;
  partitions: Record<string, { active: string; acquired: string }>;
  leaks: number;
  leakRows: string[];
}

let server: ManagementServer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let orders: ConnectionPool<SimulatedConnection>;
let reports: ConnectionPool<SimulatedConnection>;
let manager: PartitionManager<SimulatedConnection>;
let detector: LeakDetector;
/** Every /overview response the page received, by its timestamp. */
const responses = new Map<number, { pools: Record<string, unknown>[] }>();

beforeAll(async () => {
  const factory = new SimulatedFactory({ seed: 7, queryLatencyMs: { minMs: 2, maxMs: 12 } });
  orders = await ConnectionPool.create({ minSize: 2, maxSize: 4, initialSize: 2, enablePartitioning: true, closeTimeoutMs: 500 }, factory, {
    name: 'orders',
    waitQueue: new PriorityWaitQueue(),
  });
  reports = await ConnectionPool.create({ minSize: 1, maxSize: 2, initialSize: 1, closeTimeoutMs: 500 }, new SimulatedFactory(), {
    name: 'reports',
  });
  manager = new PartitionManager({ pool: orders, routing: RoutingStrategy.TenantBased });
  manager.createPartition('tenant_acme', PartitionType.Tenant('acme'), { maxConnections: 3, minConnections: 1 });
  manager.createPartition('tenant_globex', PartitionType.Tenant('globex'), { maxConnections: 2 });
  detector = new LeakDetector({ thresholdMs: 400, checkIntervalMs: 100, pools: orders, warn: false });
  server = await serveManagement({
    pools: { orders: { pool: orders, leakDetector: detector, partitions: manager }, reports },
    auth: { readToken: READ_TOKEN, adminToken: ADMIN_TOKEN },
    dashboard: { refreshMs: 250 },
    port: 0,
  });
  userDataDir = mkdtempSync(join(tmpdir(), 'pool-management-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('response', (response) => {
    if (!response.url().endsWith('/overview') || response.status() !== 200) return;
    response
      .json()
      .then((body: { timestamp: number; pools: Record<string, unknown>[] }) => responses.set(body.timestamp, body))
      .catch(() => {});
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
  await server?.close();
  detector?.close();
  await manager?.close();
  await orders?.close();
  await reports?.close();
});

/** What the page shows now, read from the DOM (raw values from data-value attributes). */
async function shown(): Promise<Shown> {
  return page.evaluate(() => {
    const document = (globalThis as unknown as { document: Doc }).document;
    const main = document.getElementById('main') as El;
    const figures: Record<string, string> = {};
    for (const el of Array.from(main.querySelectorAll('[id][data-value]'))) figures[el.id] = el.getAttribute('data-value') ?? '';
    const queue: Record<string, string> = {};
    for (const row of Array.from(document.querySelectorAll('#queue-table tbody tr'))) {
      queue[row.getAttribute('data-priority') ?? '?'] = row.children[1]?.getAttribute('data-value') ?? '';
    }
    const partitions: Record<string, { active: string; acquired: string }> = {};
    for (const row of Array.from(document.querySelectorAll('#partitions-table tbody tr'))) {
      partitions[row.getAttribute('data-partition') ?? '?'] = {
        active: row.children[2]?.getAttribute('data-value') ?? '',
        acquired: row.children[4]?.getAttribute('data-value') ?? '',
      };
    }
    const leakRows = Array.from(document.querySelectorAll('#leaks-table tbody tr')).map((r) => r.getAttribute('data-connection') ?? '');
    return {
      pool: main.getAttribute('data-pool') ?? '',
      timestamp: Number(main.getAttribute('data-timestamp')),
      figures,
      queue,
      partitions,
      leaks: Number(document.getElementById('leak-count')?.getAttribute('data-value')),
      leakRows,
    };
  });
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** Checks that what the page shows is exactly the /overview response it was drawn from. */
async function matchesItsResponse(): Promise<{ view: Shown; data: Record<string, Json> }> {
  let view = await shown();
  await vi.waitFor(() => expect(responses.has(view.timestamp)).toBe(true), { timeout: 5_000, interval: 20 });
  const body = responses.get(view.timestamp) as { pools: Record<string, Json>[] };
  view = view.timestamp === (await shown()).timestamp ? view : await shown();
  const data = (responses.get(view.timestamp) ?? body).pools.find((p) => p.name === view.pool) as Record<string, Json>;
  expect(view.figures).toMatchObject({
    active: str(data.size.active),
    idle: str(data.size.idle),
    waiting: str(data.size.waiting),
    total: str(data.size.total),
    pending: str(data.size.pending),
    'max-size': str(data.maxSize),
    acquired: str(data.acquired),
    failures: str(data.acquireFailures),
    throughput: str(data.throughputPerSecond),
    'wait-p50': str(data.wait?.percentiles.p50),
    'wait-p95': str(data.wait?.percentiles.p95),
    'wait-p99': str(data.wait?.percentiles.p99),
    'wait-count': str(data.wait?.count),
  });
  for (const p of ['critical', 'high', 'normal', 'low']) expect(view.queue[p]).toBe(str(data.queue.byPriority[p].currentSize));
  expect(view.leaks).toBe(data.leaks.active);
  expect(view.leakRows).toEqual(data.leaks.reports.map((r: { connectionId: number }) => String(r.connectionId)));
  if (data.partitions !== null) {
    for (const part of data.partitions) {
      expect(view.partitions[part.id]).toEqual({ active: str(part.active), acquired: str(part.connectionsAcquired) });
    }
  }
  return { view, data };
}

async function api(path: string): Promise<Json> {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
  return res.json();
}

/** Waits until the page shows `expected` figures (they are reached when the load settles). */
async function untilShown(expected: Record<string, string>, timeout = 10_000): Promise<Shown> {
  let last: Shown | undefined;
  await vi.waitFor(
    async () => {
      last = await shown();
      expect(last.figures).toMatchObject(expected);
    },
    { timeout, interval: 50 },
  );
  return last as Shown;
}

describe('the web dashboard in Chromium', () => {
  it('signs in with a token from the URL fragment and shows the idle pool as the API reports it', async () => {
    await page.goto(`${server.url}/dashboard#token=${READ_TOKEN}`);
    await page.waitForSelector('#main:not([hidden])[data-timestamp]');
    expect(page.url()).not.toContain(READ_TOKEN);
    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.locator('#active').isVisible()).toBe(true);
    const { view } = await matchesItsResponse();
    expect(view.pool).toBe('orders');
    const size = await api('/pools/orders/size');
    expect(await untilShown({ active: '0', waiting: '0', total: String(size.total) })).toBeTruthy();
    expect(await page.locator('#pool-select option').allTextContents()).toEqual(['orders', 'reports']);
  });

  it('follows load: held connections, waiters by priority and leaks appear, then go away', async () => {
    const held: PooledConnection<SimulatedConnection>[] = [];
    for (let i = 0; i < 4; i++) held.push(await orders.acquire({ context: { route: 'GET /orders/export' } }));
    const waiters = [
      orders.acquire({ priority: QueuePriority.Critical, timeoutMs: 20_000 }),
      orders.acquire({ priority: QueuePriority.Critical, timeoutMs: 20_000 }),
      orders.acquire({ priority: QueuePriority.Low, timeoutMs: 20_000 }),
    ];
    await untilShown({ active: '4', idle: '0', waiting: '3' });
    const { view } = await matchesItsResponse();
    expect(view.queue).toEqual({ critical: '2', high: '0', normal: '0', low: '1' });
    expect(await api('/pools/orders/size')).toMatchObject({ active: 4, idle: 0, waiting: 3 });
    const queue = await api('/pools/orders/queue');
    expect(queue.byPriority.critical.currentSize).toBe(2);

    // Held past the 400 ms threshold: the detector flags them and the page lists them.
    await vi.waitFor(async () => expect((await shown()).leaks).toBe(4), { timeout: 10_000, interval: 50 });
    const leaks = await matchesItsResponse();
    expect(leaks.view.leakRows).toHaveLength(4);
    expect((await api('/pools/orders/leaks')).leaks).toHaveLength(4);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-under-load.png'), fullPage: true });

    for (const c of held) c.release();
    for (const c of await Promise.all(waiters)) c.release();
    await untilShown({ active: '0', waiting: '0' });
    await vi.waitFor(async () => expect((await shown()).leaks).toBe(0), { timeout: 10_000, interval: 50 });
    await matchesItsResponse();
  });

  it('shows throughput, wait percentiles and partitions changing under traffic', async () => {
    const before = await matchesItsResponse();
    const acquiredBefore = Number(before.view.figures.acquired);
    let running = true;
    const worker = async (tenant: string) => {
      while (running) {
        await manager.use({ tenant }, (db) => db.query('SELECT 1'));
      }
    };
    const direct = async () => {
      while (running) await orders.use((db) => db.query('SELECT 1'), { priority: QueuePriority.High });
    };
    const workers = [worker('acme'), worker('acme'), worker('acme'), worker('globex'), worker('globex'), direct(), direct(), direct()];
    try {
      await vi.waitFor(
        async () => {
          const view = await shown();
          expect(Number(view.figures.acquired)).toBeGreaterThan(acquiredBefore + 800);
          expect(Number(view.figures['wait-count'])).toBeGreaterThan(0);
          expect(Number(view.figures['rate-now'])).toBeGreaterThan(0);
          expect(Number(view.partitions.tenant_acme?.acquired)).toBeGreaterThan(0);
          expect(Number(view.partitions.tenant_globex?.acquired)).toBeGreaterThan(0);
        },
        { timeout: 20_000, interval: 100 },
      );
      const during = await matchesItsResponse();
      expect(Number(during.view.figures['wait-p99'])).toBeGreaterThan(0);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      if (process.env.MANAGEMENT_UPDATE_SCREENSHOT === '1') {
        await page.screenshot({ path: join(PACKAGE, 'docs', 'dashboard.png'), fullPage: true });
      }
    } finally {
      running = false;
      await Promise.all(workers);
    }
    const after = await matchesItsResponse();
    expect(Number(after.view.figures.acquired)).toBeGreaterThan(acquiredBefore);
    const stats = await api('/pools/orders/partition-statistics');
    await vi.waitFor(async () => {
      const view = await shown();
      expect(Number(view.partitions.tenant_acme?.acquired)).toBeGreaterThanOrEqual(stats.tenant_acme.connectionsAcquired);
    });
  });

  it('switches pools and re-asks for a token when the one it has is refused', async () => {
    await page.selectOption('#pool-select', 'reports');
    await vi.waitFor(async () => expect((await shown()).pool).toBe('reports'), { timeout: 5_000, interval: 50 });
    const { data } = await matchesItsResponse();
    expect(data.partitions).toBeNull();
    expect(await page.locator('#partitions-empty').isVisible()).toBe(true);
    await page.evaluate(() =>
      (globalThis as unknown as { sessionStorage: { setItem(k: string, v: string): void } }).sessionStorage.setItem(
        'pool-management-token',
        'not-the-token-0000000000',
      ),
    );
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#login:not([hidden])');
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('#main').isVisible()).toBe(false);
    expect(await page.locator('#login-error').textContent()).toBe('That token was not accepted.');
    await page.fill('#token', READ_TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#main:not([hidden])[data-timestamp]');
    await matchesItsResponse();
  });
});
