/**
 * Runs the LineKV server on its own: `pnpm --filter pool-adapter-linekv start:server`
 * (LINEKV_PORT, default 7379; LINEKV_PASSWORD, default none). Ctrl-C stops it.
 */
import { LineKvServer } from './linekv-server.js';

const server = await LineKvServer.start({
  port: Number(process.env.LINEKV_PORT ?? 7379),
  ...(process.env.LINEKV_PASSWORD ? { password: process.env.LINEKV_PASSWORD } : {}),
});
const auth = process.env.LINEKV_PASSWORD ? ':<password>@' : '';
console.log(`LineKV listening on ${server.address}: connect with linekv://${auth}${server.address}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => console.log('LineKV stopped'));
  });
}
