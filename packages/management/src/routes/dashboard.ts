import { z } from '@hono/zod-openapi';
import { DASHBOARD_JS } from '../dashboard/client.js';
import { DASHBOARD_HTML } from '../dashboard/page.js';
import { DASHBOARD_CSS } from '../dashboard/styles.js';
import { NoQuery } from '../schemas.js';
import type { RouteTable } from './define.js';

const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const ASSET_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The web dashboard's page, script and stylesheet: public, they hold no data. */
export function dashboardRoutes(table: RouteTable): void {
  const files = [
    [
      '/dashboard',
      'getDashboardPage',
      'The web dashboard (HTML; its data comes from /overview with a token)',
      DASHBOARD_HTML,
      'text/html',
      PAGE_CSP,
    ],
    ['/dashboard/app.js', 'getDashboardScript', "The dashboard's script", DASHBOARD_JS, 'text/javascript', ASSET_CSP],
    ['/dashboard/app.css', 'getDashboardStyles', "The dashboard's stylesheet", DASHBOARD_CSS, 'text/css', ASSET_CSP],
  ] as const;
  for (const [path, operationId, summary, body, type, csp] of files) {
    table.add(
      { tag: 'dashboard', access: 'public', errors: [400] },
      {
        method: 'get',
        path,
        operationId,
        summary,
        request: { query: NoQuery },
        responses: { 200: { description: summary, content: { [type]: { schema: z.string() } } } },
      },
      () =>
        new Response(body, {
          headers: { 'content-type': `${type}; charset=utf-8`, 'content-security-policy': csp, 'cache-control': 'no-cache' },
        }),
    );
  }
}
