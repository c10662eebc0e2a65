/**
 * Text every store can keep exactly as given. PostgreSQL refuses U+0000 in `text` and `jsonb`;
 * drivers encode strings as UTF-8, which turns an unpaired UTF-16 surrogate into U+FFFD without a
 * word. Such strings are refused at the edge, before anything is written, so no store ever holds
 * something other than what it was given, and an adapter never refuses a write halfway through a
 * call (which would leave the call's earlier writes behind).
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why the text cannot be stored exactly, or `null`. */
export function unstorableTextReason(text: string): string | null {
  const match = UNSTORABLE.exec(text);
  if (match === null) return null;
  return match[0] === '\u0000'
    ? 'contains the character U+0000, which stores cannot keep; remove it'
    : 'contains an unpaired UTF-16 surrogate, which cannot be encoded as UTF-8; fix the string';
}
