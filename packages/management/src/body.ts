import { ManagementError } from './errors.js';

/** The deepest nesting of arrays and objects a request body may have (the API's bodies are flat). */
export const MAX_BODY_DEPTH = 16;

/** `application/json`, or a `+json` type (`application/merge-patch+json`). */
export function isJsonType(contentType: string | null | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * The nesting depth of a JSON text, found by a linear scan that skips strings, without parsing it (so a
 * hostile body never reaches a recursive parser or validator). Stops counting once past `limit`.
 */
export function jsonDepth(text: string, limit = MAX_BODY_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Reads the JSON body of a state-changing request, bounded before anything is parsed: `Content-Type`
 * must be JSON even when the body is empty (a cross-site form or `no-cors` fetch cannot send that
 * type, so this also stops request forgery); the size is capped on `Content-Length` and while reading
 * (a chunked body cannot get around it); the text must be UTF-8 and nested at most
 * {@link MAX_BODY_DEPTH} deep. An empty body is `{}`.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const contentType = request.headers.get('content-type');
  if (!isJsonType(contentType)) {
    const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    throw new ManagementError(
      415,
      `Actions take a JSON body: send Content-Type: application/json (with {} or an empty body when there is nothing to say), not ${type === '' ? 'no Content-Type' : JSON.stringify(type)}`,
      { field: 'header.content-type' },
    );
  }
  const length = request.headers.get('content-length');
  if (length !== null) {
    if (!/^\d+$/.test(length))
      throw new ManagementError(400, `Content-Length ${JSON.stringify(length)} is not a number`, { field: 'header.content-length' });
    if (Number(length) > maxBytes)
      throw new ManagementError(413, `The body is ${length} bytes, larger than the ${maxBytes} bytes accepted`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body !== null) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new ManagementError(413, `The body is larger than the ${maxBytes} bytes accepted`);
      }
      chunks.push(value);
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ManagementError(400, 'The body is not valid UTF-8', { field: 'body' });
  }
  if (text.trim() === '') return {};
  const depth = jsonDepth(text);
  if (depth > MAX_BODY_DEPTH) {
    throw new ManagementError(400, `The body is nested more than ${MAX_BODY_DEPTH} levels deep; the API's bodies are flat objects`, {
      field: 'body',
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ManagementError(400, `The body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
      field: 'body',
    });
  }
}
