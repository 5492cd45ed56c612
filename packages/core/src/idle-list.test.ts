import { describe, expect, it } from 'vitest';
import { type IdleEntry, IdleList } from './idle-list.js';

const item = (name: string, label?: string): IdleEntry & { name: string } => ({
  name,
  label,
  idleLabel: undefined,
  idlePrev: null,
  idleNext: null,
  labelPrev: null,
  labelNext: null,
  inIdle: false,
});

describe('IdleList', () => {
  it('pops the most recently pushed entry first', () => {
    const list = new IdleList<ReturnType<typeof item>>();
    for (const n of ['a', 'b', 'c']) list.push(item(n));
    expect([list.pop()?.name, list.pop()?.name, list.pop()?.name, list.pop()]).toEqual(['c', 'b', 'a', undefined]);
  });

  it('prefers an entry with the asked label, else the most recent', () => {
    const list = new IdleList<ReturnType<typeof item>>();
    list.push(item('a', 'x'));
    list.push(item('b', 'y'));
    list.push(item('c'));
    expect(list.pop('x')?.name).toBe('a');
    expect(list.countLabel('x')).toBe(0);
    expect(list.pop('z')?.name).toBe('c');
    expect(list.pop('y')?.name).toBe('b');
    expect(list.size).toBe(0);
  });

  it('iterates oldest first and tolerates removal during iteration', () => {
    const list = new IdleList<ReturnType<typeof item>>();
    const entries = ['a', 'b', 'c', 'd'].map((n) => item(n, n === 'b' ? 'x' : undefined));
    for (const e of entries) list.push(e);
    const seen: string[] = [];
    for (const e of list.oldestFirst()) {
      seen.push(e.name);
      list.remove(e);
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(list.size).toBe(0);
    expect(list.pop('x')).toBeUndefined();
  });

  it('remove() of an entry that is not idle is a no-op', () => {
    const list = new IdleList<ReturnType<typeof item>>();
    const e = item('a');
    expect(list.remove(e)).toBe(false);
    list.push(e);
    expect(list.remove(e)).toBe(true);
    expect(list.remove(e)).toBe(false);
  });
});
