// The same check from a CommonJS program: require first, then import(), same objects.
const assert = require('node:assert/strict');
const entries = require('./entries.json');

(async () => {
  for (const { specifier, nativeEsm } of entries) {
    if (nativeEsm) {
      assert.throws(() => require(specifier), /Vitest cannot be imported in a CommonJS module/);
      continue;
    }
    const cjs = require(specifier);
    const esm = await import(specifier);
    for (const name of Object.keys(cjs)) {
      if (name === '__esModule') continue;
      assert.ok(esm[name] === cjs[name], `${specifier}: ${name} from require is not the one from import (two copies)`);
    }
  }
  const { ConnectionPool, PoolConfig, isPoolError } = require('@pool/core');
  const { SimulatedFactory } = await import('@pool/testkit');
  const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(1).build(), new SimulatedFactory({ respond: () => [] }));
  await pool.use((conn) => conn.query('SELECT 1'));
  await pool.close();
  const error = await pool.acquire().catch((e) => e);
  assert.ok(isPoolError(error, 'ERR_POOL_CLOSED'));
  console.log(`load (require + import(), node ${process.version}): ${entries.length} entries, one engine, tiny pool ok`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
