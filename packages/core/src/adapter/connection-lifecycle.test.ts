import { describe, expect, it, vi } from 'vitest';
import { ConnectionLifecycle } from './connection-lifecycle.js';

describe('ConnectionLifecycle', () => {
  it('is open, not broken and not live at first', () => {
    const lifecycle = new ConnectionLifecycle(() => {});
    expect(lifecycle).toMatchObject({ status: 'open', broken: false, closing: false, live: false, brokenError: undefined });
  });

  it('does not report a break before the pool has the connection: create() sees `broken` instead', () => {
    const report = vi.fn();
    const lifecycle = new ConnectionLifecycle(report);
    const error = new Error('ECONNRESET');
    lifecycle.markBroken(error);
    expect(lifecycle).toMatchObject({ broken: true, brokenError: error, status: 'broken' });
    lifecycle.markLive();
    expect(report).not.toHaveBeenCalled();
  });

  it('reports the first break of a live connection once, keeping the first error', () => {
    const report = vi.fn();
    const lifecycle = new ConnectionLifecycle(report);
    lifecycle.markLive();
    const first = new Error('terminated by administrator');
    lifecycle.markBroken(first);
    lifecycle.markBroken(new Error('Connection terminated unexpectedly'));
    expect(report).toHaveBeenCalledTimes(1);
    expect(report).toHaveBeenCalledWith(first);
    expect(lifecycle.brokenError).toBe(first);
  });

  it('ignores the end of a connection the factory is closing', () => {
    const report = vi.fn();
    const lifecycle = new ConnectionLifecycle(report);
    lifecycle.markLive();
    lifecycle.markClosing();
    lifecycle.markBroken(new Error('Connection terminated'));
    expect(report).not.toHaveBeenCalled();
    expect(lifecycle).toMatchObject({ broken: false, closing: true, status: 'closed' });
  });
});
