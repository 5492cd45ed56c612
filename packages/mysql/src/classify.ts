/**
 * Decides, from a statement's text, whether it may leave state behind that outlives it on the session
 * (and so must be cleared before another borrower gets the connection). The server reports much of
 * this itself (the transaction flag and, with session tracking, variables, schema, temp tables); this
 * covers what it does not report: user-level locks, table locks, `HANDLER`, SQL `PREPARE`, variables
 * set inside a `SELECT`, and everything when session tracking is unavailable. It errs on the side of
 * "changed": a false positive costs one reset, a false negative leaks state between borrowers.
 */

/** What a statement may do to the session. */
export interface Effects {
  /** Changes settings, variables, temp tables, locks, the default schema, prepared statements... (needs a reset). */
  session: boolean;
  /** Opens (or may open) a transaction: `BEGIN`, `START TRANSACTION`, `XA START`, `SET autocommit = 0`... */
  transaction: boolean;
  /** Calls a stored procedure, whose effects only the server's session tracking can report. */
  routine: boolean;
  /** Changes the default database (`USE`), which `COM_RESET_CONNECTION` leaves as it is. */
  schema: boolean;
}

const NONE: Effects = Object.freeze({ session: false, transaction: false, routine: false, schema: false });

// Leading keywords of statements whose effect outlives them. `SET` covers session variables, user
// variables, `SET NAMES`, `SET autocommit`, `SET ROLE`, `SET TRANSACTION` (next transaction's
// characteristics) — everything but `SET GLOBAL`/`SET PASSWORD`... which we treat as session too (harmless).
const SESSION_STATEMENT =
  /^(?:SET\b|USE\b|LOCK\s+TABLES?\b|UNLOCK\s+TABLES?\b|FLUSH\s+TABLES?\b[\s\S]*\bWITH\s+READ\s+LOCK\b|HANDLER\b|PREPARE\b|DEALLOCATE\b|DROP\s+PREPARE\b|CREATE\s+(?:OR\s+REPLACE\s+)?TEMPORARY\b|DROP\s+TEMPORARY\b|XA\b|LOAD\s+DATA\b[\s\S]*\bLOCAL\b)/i;
// Anywhere in a statement: user variables assigned in an expression (`SELECT @a := 1`, `INTO @a`),
// and user-level locks.
const SESSION_ANYWHERE = /(?:@[\w$.]+\s*:=|\bINTO\s+@|\b(?:GET_LOCK|RELEASE_LOCK|RELEASE_ALL_LOCKS)\s*\()/i;
const TRANSACTION_STATEMENT =
  /^(?:BEGIN\b(?!\s+NOT\s+ATOMIC\b)|START\s+TRANSACTION\b|XA\s+(?:START|BEGIN)\b|SET\s+(?:(?:SESSION|LOCAL|@@SESSION\.|@@LOCAL\.|@@)\s*)?autocommit\s*=\s*(?:0|OFF|FALSE)\b)/i;
const ROUTINE = /^CALL\b/i;
const SCHEMA = /^USE\b/i;
const QUICK = /set|use|lock|handler|prepare|deallocate|temporary|xa\b|call|load|@|begin|start|into/i;

/** Removes leading whitespace, `-- line`, `# line` and `/* block *\/` comments (not `/*! ... *\/` hints). */
function stripLeading(text: string): string {
  let s = text;
  for (;;) {
    s = s.trimStart();
    if (s.startsWith('-- ') || s.startsWith('--\n') || s.startsWith('#')) {
      const end = s.indexOf('\n');
      s = end < 0 ? '' : s.slice(end + 1);
    } else if (s.startsWith('/*') && !s.startsWith('/*!')) {
      const end = s.indexOf('*/');
      s = end < 0 ? '' : s.slice(end + 2);
    } else return s;
  }
}

/** What `text` (one statement, or several separated by `;` with `multipleStatements`) may do to the session. */
export function classify(text: string): Effects {
  if (!QUICK.test(text)) return NONE;
  let session = SESSION_ANYWHERE.test(text);
  let transaction = false;
  let routine = false;
  let schema = false;
  // Splitting on ';' also splits inside string literals; a fragment misread that way can only add a
  // false positive, never hide a real statement's leading keyword.
  for (const part of text.split(';')) {
    const s = stripLeading(part);
    if (s === '') continue;
    if (TRANSACTION_STATEMENT.test(s)) transaction = true;
    if (SESSION_STATEMENT.test(s)) session = true;
    if (ROUTINE.test(s)) routine = true;
    if (SCHEMA.test(s)) schema = true;
  }
  return session || transaction || routine ? { session, transaction, routine, schema } : NONE;
}
