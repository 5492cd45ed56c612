// Loads every entry of every packed package with `import` and with `require` in one process and checks
// that both give the same module: the same PoolError class, errors recognised across both.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const entries = JSON.parse(readFileSync(new URL('./entries.json', import.meta.url), 'utf8'));

let checked = 0;
for (const { specifier, nativeEsm } of entries) {
  if (nativeEsm) {
    // Its own ESM build (see package-layout.ts) that imports vitest, which runs only under `vitest`:
    // conformance.test.mjs loads it there.
    assert.match(import.meta.resolve(specifier), /\/dist\/[\w/-]+\.js$/);
    continue;
  }
  const esm = await import(specifier);
  const names = Object.keys(esm).filter((n) => n !== 'default');
  assert.ok(names.length > 0, `${specifier}: import gave no exports`);
  const cjs = require(specifier);
  assert.deepEqual(
    Object.keys(cjs)
      .filter((n) => n !== '__esModule')
      .sort(),
    names.sort(),
    `${specifier}: import and require export different names`,
  );
  for (const name of names)
    assert.ok(esm[name] === cjs[name], `${specifier}: ${name} from import is not the one from require (two copies)`);
  checked += names.length;
}

// One engine: the classes are the same objects, and an error made through require is recognised by import.
const coreEsm = await import('@pool/core');
const coreCjs = require('@pool/core');
assert.equal(coreEsm.PoolError, coreCjs.PoolError);
const { DeadlockError } = require('@pool/queue');
const fromCjs = Object.create(DeadlockError.prototype);
assert.ok(fromCjs instanceof coreEsm.PoolError && coreEsm.isPoolError(new coreCjs.PoolClosedError()));

// A tiny pool: ESM core, CJS-loaded simulated factory from the testkit, one query, an error across both.
const { SimulatedFactory } = require('@pool/testkit');
const config = coreEsm.PoolConfig.builder().minSize(0).maxSize(2).acquireTimeoutMs(2_000).build();
const pool = await coreEsm.ConnectionPool.create(config, new SimulatedFactory({ respond: () => [{ one: 1 }] }));
const result = await pool.use((conn) => conn.query('SELECT 1'));
assert.deepEqual(result.rows, [{ one: 1 }]);
await pool.close();
const closed = await pool.acquire().then(
  () => undefined,
  (e) => e,
);
assert.ok(
  coreCjs.isPoolError(closed, 'ERR_POOL_CLOSED') && closed instanceof coreCjs.PoolClosedError,
  'closed-pool error not recognised from require',
);

console.log(
  `load (ESM + require, node ${process.version}): ${entries.length} entries, ${checked} exports identical, one engine, tiny pool ok`,
);
