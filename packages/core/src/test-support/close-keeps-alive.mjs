// A program whose driver's close() hangs, with nothing else keeping Node alive: every await must still
// resume (bounded by closeTimeoutMs). Run by close-keeps-alive.test.ts with the built engine's path.
const { ConnectionPool } = await import(process.argv[2]);
const factory = { create: async () => ({}), close: () => new Promise(() => {}) };
const pool = await ConnectionPool.create({ minSize: 0, initialSize: 2, closeTimeoutMs: 200 }, factory);
pool.on('error', () => {}); // the closes that time out are reported there
const conn = await pool.acquire();
await conn.destroy();
console.log('destroyed');
await pool.close();
console.log('closed');
