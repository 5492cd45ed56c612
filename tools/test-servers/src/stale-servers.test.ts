import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './free-port.js';
import { PrivateMariadb } from './private-mariadb.js';
import { PrivatePostgres } from './private-postgres.js';
import { PrivateRedis } from './private-redis.js';
import { isAlive, runCommand } from './process.js';

/** The pid of a process that has exited (a test run killed before its cleanup). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  expect(isAlive(pid)).toBe(false);
  return pid;
}

const made: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'data'));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('servers left by a crashed test run', () => {
  it('PrivateMariadb.removeStale removes the directories of dead test processes and keeps those of live ones', () => {
    const dead = tempDir(`pool-test-mariadb_${deadPid()}_`);
    const live = tempDir(`pool-test-mariadb_${process.pid}_`);
    PrivateMariadb.removeStale();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('PrivatePostgres.removeStale removes the directories of dead test processes and keeps those of live ones', async () => {
    const dead = tempDir(`pool-test-pg_${deadPid()}_`);
    const live = tempDir(`pool-test-pg_${process.pid}_`);
    await PrivatePostgres.removeStale();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});

describe('PrivateRedis', () => {
  const ping = (port: number) => runCommand('redis-cli', ['-p', String(port), 'PING'], 5_000).catch(() => '');

  it('counts commands, restarts empty on the same port, and removeStale shuts down only the servers of dead test processes', async () => {
    const mine = await PrivateRedis.start();
    const orphan = await PrivateRedis.start();
    try {
      await runCommand('redis-cli', ['-p', String(mine.port), 'SET', 'k', 'v']);
      expect((await mine.commandCalls()).set).toBe(1);
      await mine.stop();
      expect((await ping(mine.port)).trim()).not.toBe('PONG');
      await mine.startAgain();
      expect((await runCommand('redis-cli', ['-p', String(mine.port), 'GET', 'k'])).trim()).toBe('');
      // The orphan's pid file as a killed test run would have left it: named after a process that is gone.
      const stale = join(tmpdir(), `pool-test-redis_${deadPid()}_${orphan.port}.pid`);
      writeFileSync(stale, '0\n');
      await PrivateRedis.removeStale();
      expect((await ping(orphan.port)).trim()).not.toBe('PONG');
      expect(existsSync(stale)).toBe(false);
      expect((await ping(mine.port)).trim()).toBe('PONG');
    } finally {
      await mine.shutdown();
      await orphan.shutdown();
    }
  }, 60_000);
});

describe('freePort', () => {
  it('gives a port of 127.0.0.1 that a server can listen on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
