import { expect, it } from 'vitest';
import {
  expectCleanShutdownOnSigint,
  expectDashboardPage,
  expectLeakReportedAndReclaimed,
  healthLinePattern,
  management,
  startDemo,
} from './demo-process.js';

it('warms up, serves the dashboard and the API, reports pool health and leaks, and shuts down cleanly on SIGINT', async () => {
  const demo = startDemo(undefined); // the simulated database, as `pnpm demo` without DATABASE_URL
  await demo.waitFor(/^Warm: /m);

  // The management server on 127.0.0.1: the dashboard page, and the API with the printed read token.
  const { base, auth } = management(demo);
  await expectDashboardPage(base);
  const size = await fetch(`${base}/pools/app/size`, { headers: auth });
  expect(size.status).toBe(200);
  const figures = (await size.json()) as { total: number; active: number };
  expect(figures.total).toBeGreaterThanOrEqual(50); // the seed's initialSize
  const partitions = await fetch(`${base}/pools/app/partitions`, { headers: auth });
  const listed = (await partitions.json()) as { partitions: { id: string; routeKeys: string[] }[] };
  expect(listed.partitions.map((p) => p.id).sort()).toEqual(['enterprise_tier', 'standard_tier']);
  expect(listed.partitions.find((p) => p.id === 'enterprise_tier')?.routeKeys).toEqual(['acme_corp', 'globex', 'initech']);
  const metrics = await fetch(`${base}/metrics`, { headers: { ...auth, accept: 'text/plain' } });
  expect(await metrics.text()).toMatch(/^db_client_connection_count\{.*pool_name="app".*\} \d+/m);
  expect((await fetch(`${base}/pools/app/size`)).status).toBe(401); // no token, no data

  await demo.waitFor(healthLinePattern(100, 50));
  await expectLeakReportedAndReclaimed(demo);

  await expectCleanShutdownOnSigint(demo, { simulated: true });
});
