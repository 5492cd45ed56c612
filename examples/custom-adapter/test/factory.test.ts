import { InvalidConfigError } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { LineKvServer } from '../server/linekv-server.js';
import { LineKvClient, LineKvError, linekvFactory } from '../src/index.js';

describe('linekvFactory', () => {
  it('rejects a URL of another scheme, naming the field and hiding the password', () => {
    const attempt = () => linekvFactory('redis://:hunter22@127.0.0.1:6379');
    expect(attempt).toThrow(InvalidConfigError);
    expect(attempt).toThrow(/url.*linekv:/);
    expect(attempt).not.toThrow(/hunter22/);
  });

  it('rejects a URL without a port and an unknown option', () => {
    expect(() => linekvFactory('linekv://127.0.0.1')).toThrow(/must name a port/);
    expect(() => linekvFactory('linekv://127.0.0.1:7379', { validationQuery: 'PING' } as never)).toThrow(/validationQuery/);
  });

  it('rejects a validation command spanning lines', () => {
    expect(() => linekvFactory('linekv://127.0.0.1:7379', { validationCommand: 'PING\nKILL 1' })).toThrow(InvalidConfigError);
  });

  it('fails create with the server refusal when the password is wrong, without echoing it', async () => {
    await using server = await LineKvServer.start({ password: 'right-password' });
    const factory = linekvFactory(`linekv://:wrong-password@${server.address}`);
    const created = factory.create({ signal: new AbortController().signal, markBroken: () => {} });
    await expect(created).rejects.toMatchObject({ code: 'NOAUTH' });
    await expect(created).rejects.not.toThrow(/wrong-password/);
  });
});

describe('LineKvClient', () => {
  it('matches pipelined replies to their commands in order, also behind a slow one', async () => {
    await using server = await LineKvServer.start();
    const client = await LineKvClient.connect({ host: server.host, port: server.port });
    const replies = await Promise.all([
      client.command('SET', 'a', 'one two'),
      client.command('SLEEP', '20'),
      client.command('GET', 'a'),
      client.command('GET', 'missing'),
    ]);
    expect(replies).toEqual(['OK', 'OK', 'one two', null]);
    await client.quit();
    expect(client.closed).toBe(true);
  });

  it('rejects every pending command when the server ends the session, and later ones at once', async () => {
    await using server = await LineKvServer.start();
    const client = await LineKvClient.connect({ host: server.host, port: server.port });
    const id = await client.command('ID');
    const pending = expect(client.command('SLEEP', '5000')).rejects.toMatchObject({ code: 'ECLOSED' });
    const admin = await LineKvClient.connect({ host: server.host, port: server.port });
    await admin.command('KILL', String(id));
    await admin.quit();
    await pending;
    await expect(client.command('PING')).rejects.toBeInstanceOf(LineKvError);
  });

  it('refuses a command containing a line break instead of sending two', async () => {
    await using server = await LineKvServer.start();
    const client = await LineKvClient.connect({ host: server.host, port: server.port });
    await expect(client.command('SET', 'a', 'x\nKILL 1')).rejects.toThrow(/line break/);
    expect(await client.command('PING')).toBe('PONG');
    await client.quit();
  });
});
