/**
 * Decides, from a query's text, whether it may change session state that outlives its transaction
 * (and so must be cleared before another borrower gets the connection). It errs on the side of
 * "changed": a false positive costs one reset, a false negative leaks state between borrowers.
 */

/** What a query may do to the session. */
export interface Effects {
  /** Changes settings, temp objects, listeners, held cursors, advisory locks... (needs a reset). */
  session: boolean;
  /** Creates a prepared statement of its own (`PREPARE`). */
  prepares: boolean;
  /** Drops prepared statements (`DEALLOCATE`, `DISCARD ALL`): the statement cache is then in doubt. */
  deallocates: boolean;
}

const NONE: Effects = Object.freeze({ session: false, prepares: false, deallocates: false });

// Leading keywords of statements whose effect outlives the transaction. SET LOCAL / SET TRANSACTION /
// SET CONSTRAINTS end with the transaction, which the transaction status already covers.
const SESSION_STATEMENT =
  /^(?:SET\b(?!\s+(?:LOCAL|TRANSACTION|CONSTRAINTS)\b)|RESET\b|LISTEN\b|UNLISTEN\b|LOAD\b|DISCARD\b|PREPARE\b|DEALLOCATE\b|DECLARE\b[\s\S]*\bWITH\s+HOLD\b|CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?TEMP(?:ORARY)?\b|SELECT\b[\s\S]*\bINTO\s+TEMP(?:ORARY)?\b)/i;
// Functions with session-level effects, wherever they appear (a SELECT, a DO block, a function body).
const SESSION_FUNCTION =
  /\b(?:set_config|pg_advisory_lock|pg_advisory_lock_shared|pg_try_advisory_lock|pg_try_advisory_lock_shared|setseed)\s*\(/i;
const QUICK = /set|reset|listen|load|discard|prepare|deallocate|declare|temp|into|advisory|setseed/i;

/** Removes leading whitespace, `-- line` and `/* block *\/` comments. */
function stripLeading(text: string): string {
  let s = text;
  for (;;) {
    s = s.trimStart();
    if (s.startsWith('--')) {
      const end = s.indexOf('\n');
      s = end < 0 ? '' : s.slice(end + 1);
    } else if (s.startsWith('/*')) {
      const end = s.indexOf('*/');
      s = end < 0 ? '' : s.slice(end + 2);
    } else return s;
  }
}

/** What `text` (one statement or several separated by `;`) may do to the session. */
export function classify(text: string): Effects {
  if (!QUICK.test(text)) return NONE;
  let session = SESSION_FUNCTION.test(text);
  let prepares = false;
  let deallocates = false;
  // Splitting on ';' also splits inside string literals; a fragment misread that way can only add a
  // false positive, never hide a real statement's leading keyword.
  for (const part of text.split(';')) {
    const s = stripLeading(part);
    if (s === '' || !SESSION_STATEMENT.test(s)) continue;
    session = true;
    const word = (s.split(/\s/, 1)[0] ?? '').toUpperCase();
    if (word === 'PREPARE') prepares = true;
    else if (word === 'DEALLOCATE' || (word === 'DISCARD' && /^DISCARD\s+ALL\b/i.test(s))) deallocates = true;
  }
  return session ? { session, prepares, deallocates } : NONE;
}
