// The CommonJS twin of close-keeps-alive.mjs: there Node would exit 0 with the lines after the awaits
// never run.
const { ConnectionPool } = require(process.argv[2]);

async function main() {
  const factory = { create: async () => ({}), close: () => new Promise(() => {}) };
  const pool = await ConnectionPool.create({ minSize: 0, initialSize: 2, closeTimeoutMs: 200 }, factory);
  pool.on('error', () => {});
  const conn = await pool.acquire();
  await conn.destroy();
  console.log('destroyed');
  await pool.close();
  console.log('closed');
}

main();
