import { InvalidArgumentError, InvalidConfigError } from '@pool/core';

/**
 * How a cluster namespace picks one node among the online nodes its pattern matches, as in mysql2:
 * `'RR'` round robin (each namespace keeps its own turn), `'RANDOM'` uniformly at random, `'ORDER'` the
 * first in the order the nodes were added (the others serve only while it is offline or removed).
 * Given in any case (`'rr'` works), as mysql2 upper-cases it.
 */
export type ClusterSelector = 'RR' | 'RANDOM' | 'ORDER';

/**
 * A selector as given to `of()`, `getConnection()` and `defaultSelector`: a {@link ClusterSelector} in
 * any case; typed as a string too, as mysql2 types it, and checked when given (`InvalidArgumentError`).
 */
export type ClusterSelectorName = ClusterSelector | Lowercase<ClusterSelector> | (string & {});

/** A node name pattern: a name, a name with `*` wildcards (`'replica*'`, `'*'`), or a `RegExp`. */
export type ClusterPattern = string | RegExp;

/** @internal Picks one id among `ids` (never empty). */
export type Pick = (ids: readonly string[]) => string;

const SELECTORS: readonly ClusterSelector[] = ['RR', 'RANDOM', 'ORDER'];

/**
 * @internal Checks a selector name (case-insensitive); `field` names the option or argument in the
 * error (`InvalidConfigError` for an option, `InvalidArgumentError` for an argument).
 */
export function checkSelector(field: string, selector: unknown, option = false): ClusterSelector {
  const name = typeof selector === 'string' ? selector.toUpperCase() : selector;
  if (typeof name !== 'string' || !SELECTORS.includes(name as ClusterSelector)) {
    const rule = "must be 'RR', 'RANDOM' or 'ORDER'";
    throw option ? new InvalidConfigError(field, selector, rule) : new InvalidArgumentError(field, selector, rule);
  }
  return name as ClusterSelector;
}

/** @internal A fresh picker for `selector` (round robin keeps its turn in the picker). */
export function makePick(selector: ClusterSelector): Pick {
  switch (selector) {
    case 'RR': {
      let turn = 0;
      return (ids) => ids[turn++ % ids.length] as string;
    }
    case 'RANDOM':
      return (ids) => ids[Math.floor(Math.random() * ids.length)] as string;
    case 'ORDER':
      return (ids) => ids[0] as string;
  }
}

/** @internal Checks a pattern and turns it into a test on node ids (`*` matches any run of characters). */
export function patternMatcher(field: string, pattern: unknown): (id: string) => boolean {
  if (pattern instanceof RegExp) {
    // A global or sticky RegExp keeps state between tests: use a copy without it.
    const re = pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern;
    return (id) => re.test(id);
  }
  if (typeof pattern !== 'string' || pattern === '') {
    throw new InvalidArgumentError(field, pattern, "must be a node name, a pattern with * wildcards ('replica*') or a RegExp");
  }
  if (!pattern.includes('*')) return (id) => id === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^=!:${}()|[\]/\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (id) => re.test(id);
}
