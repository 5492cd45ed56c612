// Port of node-postgres packages/pg-pool/test/idle-timeout.js (brianc/node-postgres c9e57617), run against createPgPool.
// Fixed sleeps waiting for the idle timeout run on fake time (see fake-time.ts).
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PgPoolClient } from '../pool.js';
import { elapse, useFakeTime } from './fake-time.js';
import { Pool, wait, withDone } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function runExitFixture(env: NodeJS.ProcessEnv, done: (err?: unknown) => void, check: (exitCode: number | null, result: string) => void) {
  const child = fork(path.join(here, 'idle-timeout-exit.fixture.ts'), [], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env,
    execArgv: ['--import', 'tsx', '--conditions=@pool/source'],
  });
  let result = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk) => (result += chunk));
  child.on('error', (err) => done(err));
  child.on('exit', (exitCode) => {
    try {
      check(exitCode, result);
      done();
    } catch (err) {
      done(err);
    }
  });
}

describe('idle timeout', () => {
  it('should timeout and remove the client', () =>
    withDone((done) => {
      const pool = Pool({ idleTimeoutMillis: 10 });
      pool.query('SELECT NOW()');
      pool.on('remove', () => {
        expect(pool.idleCount).toEqual(0);
        expect(pool.totalCount).toEqual(0);
        done();
      });
    }));

  it('times out and removes clients when others are also removed', async () => {
    useFakeTime();
    const pool = Pool({ idleTimeoutMillis: 10 });
    const clientA = await pool.connect();
    const clientB = await pool.connect();
    clientA.release(); // this will put clientA in the idle pool
    clientB.release(new Error()); // an error will cause clientB to be removed immediately

    const removal = new Promise<void>((resolve) => {
      pool.on('remove', (client: PgPoolClient) => {
        // clientB's stream may take a while to close, so we may get a remove
        // event for it
        // we only want to handle the remove event for clientA when it times out
        // due to being idle
        if (client !== clientA) {
          return;
        }

        expect(pool.idleCount).toEqual(0);
        expect(pool.totalCount).toEqual(0);
        resolve();
      });
    });

    const timeout = wait(100).then(() => Promise.reject(new Error('Idle timeout failed to occur')));
    timeout.catch(() => {});
    await elapse(10); // the idle timeout passes (fake time); the 100 ms guard stays ahead of it

    try {
      await Promise.race([removal, timeout]);
    } finally {
      pool.end();
    }
  });

  it('can remove idle clients and recreate them', async () => {
    useFakeTime();
    const pool = Pool({ idleTimeoutMillis: 1 });
    const results: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const query = pool.query('SELECT NOW()');
      expect(pool.idleCount).toEqual(0);
      expect(pool.totalCount).toEqual(1);
      results.push(await query);
      await elapse(2);
      expect(pool.idleCount).toEqual(0);
      expect(pool.totalCount).toEqual(0);
    }
    expect(results).toHaveLength(20);
  });

  it('does not time out clients which are used', async () => {
    useFakeTime();
    const pool = Pool({ idleTimeoutMillis: 1 });
    const results: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await pool.connect();
      expect(pool.totalCount).toEqual(1);
      expect(pool.idleCount).toEqual(0);
      await elapse(10);
      results.push(await client.query('SELECT NOW()'));
      client.release();
      expect(pool.idleCount).toEqual(1);
      expect(pool.totalCount).toEqual(1);
    }
    expect(results).toHaveLength(20);
    return pool.end();
  });

  it(
    'unrefs the connections and timeouts so the program can exit when idle when the allowExitOnIdle option is set',
    () =>
      withDone((done) => {
        runExitFixture({ ...process.env, ALLOW_EXIT_ON_IDLE: '1' }, done, (exitCode, result) => {
          expect(exitCode).toEqual(0);
          expect(result).toEqual('completed first\ncompleted second\n');
        });
      }),
    30_000,
  );

  it(
    'keeps old behavior when allowExitOnIdle option is not set',
    () =>
      withDone((done) => {
        runExitFixture({ ...process.env }, done, (exitCode, result) => {
          expect(exitCode).toEqual(0);
          expect(result).toEqual('completed first\ncompleted second\nremoved\n');
        });
      }),
    30_000,
  );
});
