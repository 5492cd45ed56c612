/**
 * Compares three ways to validate, type and document the management API from one definition, on the
 * resize route (the API's richest request body): zod + @hono/zod-openapi, valibot +
 * @valibot/to-json-schema, TypeBox + ajv.
 *
 *   pnpm --filter @pool/management compare:schemas
 *
 * Prints, for each: the size of the route module bundled with esbuild (minified, hono included, and
 * the same route with hono alone as the baseline), validation speed (valid and invalid bodies), how it
 * treats bodies whose unknown keys are named like Object.prototype members, and what a deeply nested
 * body does to it. Speed figures depend on the machine and its load: read them side by side, from one run.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

interface Variant {
  name: string;
  validate(body: unknown): { ok: boolean; issues: string[] };
  output(body: unknown): unknown;
  app: { fetch(request: Request): Response | Promise<Response> };
}

const files = { zod: 'zod-route.ts', valibot: 'valibot-route.ts', typebox: 'typebox-route.ts' } as const;

async function bundleSize(file: string): Promise<{ bytes: number; gzip: number }> {
  const result = await build({
    entryPoints: [join(here, file)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { bytes: code.byteLength, gzip: gzipSync(code).byteLength };
}

function opsPerSecond(fn: () => void, minMs = 300): number {
  for (let i = 0; i < 2_000; i++) fn(); // warm up
  let best = 0;
  for (let run = 0; run < 5; run++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < minMs) {
      for (let i = 0; i < 1_000; i++) fn();
      n += 1_000;
      elapsed = performance.now() - start;
    }
    best = Math.max(best, (n * 1000) / elapsed);
  }
  return best;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

const PROTO_BODIES = [
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"toString":1}',
  '{"hasOwnProperty":1}',
  '{"maxSize":5,"__proto__":{"maxSize":1}}',
];

function deep(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

async function main(): Promise<void> {
  const baseline = await bundleSize('hono-baseline.ts');
  console.log(`hono alone (baseline): ${kb(baseline.bytes)} minified, ${kb(baseline.gzip)} gzip\n`);
  const rows: string[] = [];
  for (const [key, file] of Object.entries(files)) {
    const variant = (await import(join(here, file))) as Variant;
    const size = await bundleSize(file);
    const valid = { minSize: 1, maxSize: 8 };
    const invalid = { maxSize: 0 };
    const unknown = { maxSize: 5, max: 9 };
    const vOps = opsPerSecond(() => variant.validate(valid));
    const iOps = opsPerSecond(() => variant.validate(invalid));
    const uOps = opsPerSecond(() => variant.validate(unknown));
    console.log(`## ${variant.name} (${key})`);
    console.log(`bundle: ${kb(size.bytes)} minified (${kb(size.bytes - baseline.bytes)} over hono), ${kb(size.gzip)} gzip`);
    console.log(`validate: valid ${fmt(vOps)}/s, invalid value ${fmt(iOps)}/s, unknown key ${fmt(uOps)}/s`);
    const proto: string[] = [];
    for (const text of PROTO_BODIES) {
      const body = JSON.parse(text);
      const r = variant.validate(body);
      const out = variant.output(body) as Record<string, unknown> | null;
      const polluted = out !== null && Object.getPrototypeOf(out) !== Object.prototype && Object.getPrototypeOf(out) !== null;
      const verdict = r.ok ? `ACCEPTED${polluted ? ' (output prototype replaced)' : ''}` : `refused (${r.issues.join('; ')})`;
      proto.push(`${text}: ${verdict}`);
      console.log(`  ${text} -> ${verdict}`);
    }
    const nesting: string[] = [];
    for (const [label, text] of [
      ['known field, depth 8000', `{"maxSize":${deep(8000)}}`],
      ['unknown field, depth 8000', `{"x":${deep(8000)}}`],
      ['root array, depth 8000', deep(8000)],
    ] as const) {
      let verdict: string;
      try {
        const r = variant.validate(JSON.parse(text));
        verdict = r.ok ? 'ACCEPTED' : `refused (${r.issues[0]?.slice(0, 60)})`;
      } catch (error) {
        verdict = `threw ${(error as Error).name}: ${(error as Error).message.slice(0, 60)}`;
      }
      nesting.push(`${label}: ${verdict}`);
      console.log(`  ${label} -> ${verdict}`);
    }
    const doc = await (await variant.app.fetch(new Request('http://localhost/openapi.json'))).json();
    console.log(
      `  openapi request schema: ${JSON.stringify((doc as { components: { schemas: Record<string, unknown> } }).components.schemas.ResizeRequest)}\n`,
    );
    rows.push(
      `| ${variant.name} | ${kb(size.bytes)} (${kb(size.gzip)} gzip) | ${fmt(vOps)} | ${fmt(iOps)} | ${fmt(uOps)} | ${proto.filter((p) => p.includes('ACCEPTED')).length} of ${PROTO_BODIES.length} accepted | ${nesting.some((n) => n.includes('threw')) ? 'throws' : 'refused'} |`,
    );
  }
  console.log(
    '| library | route module bundle (hono included) | valid/s | invalid/s | unknown key/s | prototype-named keys | depth 8000 |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
}

await main();
