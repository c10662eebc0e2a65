/**
 * The JSON values a record may carry (metadata, payloads, error details) and the check that keeps
 * hostile values out: operator-like keys, prototype keys, non-JSON values, cycles, excessive depth
 * and size. Such keys are refused, never escaped or interpreted, so what is stored is exactly what
 * was given.
 */
import { FORBIDDEN_KEYS, LIMITS } from './limits.js';
import { unstorableTextReason } from './text.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One problem found in a JSON value, with the path below the checked field. */
export interface JsonProblem {
  readonly path: readonly (string | number)[];
  readonly reason: string;
}

/** The fewest bytes a JSON value takes as counted here: `""`, `[]` and `{}`. */
const MIN_VALUE_BYTES = 2;
/** Bytes an object member takes besides its value and its key's characters: two quotes and a colon. */
const MEMBER_BYTES = 3;

/**
 * Checks that `value` is plain JSON within the limits. Returns the first problem, or `null`.
 * Walks iteratively with an explicit depth limit, so a hostile deep or cyclic value cannot
 * overflow the stack.
 *
 * The walk takes time in proportion to `maxBytes`, not to the value: `bytes` counts what was read
 * so far plus every value still waiting on the stack at the fewest bytes a value can take, so it
 * never exceeds the value's final size and only grows. An array's length and an object's key count
 * are charged before any element is read or any key checked, a string's length before it is
 * scanned, and the walk stops as soon as `bytes` passes `maxBytes`: at most about `maxBytes / 2`
 * values are ever read, whatever the size of the input (a 10,000,000-element array is refused after
 * reading its `length`). A value that is both too large and wrong in another way may be reported as
 * too large; either way it is refused.
 */
export function findJsonProblem(value: unknown, maxBytes: number): JsonProblem | null {
  let bytes = MIN_VALUE_BYTES;
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (path.length > LIMITS.jsonDepth) return tooDeep(path);
    // Each branch adds what `current` takes beyond the MIN_VALUE_BYTES already counted for it.
    if (current === null || typeof current === 'boolean') {
      bytes += 5 - MIN_VALUE_BYTES;
    } else if (typeof current === 'string') {
      // Counted before the scan below, which reads every character.
      bytes += current.length;
      if (bytes > maxBytes) return tooLarge(maxBytes);
      const reason = unstorableTextReason(current);
      if (reason) return { path, reason };
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { path, reason: `must be a finite number, got ${String(current)}` };
      bytes += 8 - MIN_VALUE_BYTES;
    } else if (Array.isArray(current)) {
      const length = current.length;
      if (length > 0 && path.length >= LIMITS.jsonDepth) return tooDeep([...path, 0]);
      bytes += MIN_VALUE_BYTES * length;
      if (bytes > maxBytes) return tooLarge(maxBytes);
      for (let index = length - 1; index >= 0; index -= 1) {
        stack.push({ value: current[index], path: [...path, index] });
      }
    } else if (typeof current === 'object') {
      const prototype = Object.getPrototypeOf(current) as unknown;
      if (prototype !== Object.prototype && prototype !== null) {
        const kind = (current as object).constructor?.name ?? 'object';
        return { path, reason: `must be plain JSON, got a ${kind} (convert it to a string or plain object first)` };
      }
      const keys = Object.keys(current);
      bytes += (MEMBER_BYTES + MIN_VALUE_BYTES) * keys.length;
      if (bytes > maxBytes) return tooLarge(maxBytes);
      for (const key of keys) {
        // Counted before the key is scanned.
        bytes += key.length;
        if (bytes > maxBytes) return tooLarge(maxBytes);
        const keyProblem = findKeyProblem(key);
        if (keyProblem) return { path: [...path, key], reason: keyProblem };
      }
      // Members are walked last key first, so that is the one reported too deep.
      if (keys.length > 0 && path.length >= LIMITS.jsonDepth) return tooDeep([...path, keys[keys.length - 1]!]);
      for (const key of keys) stack.push({ value: (current as Record<string, unknown>)[key], path: [...path, key] });
    } else {
      return { path, reason: `must be plain JSON, got a ${typeof current}` };
    }
    if (bytes > maxBytes) return tooLarge(maxBytes);
  }
  return null;
}

function tooLarge(maxBytes: number): JsonProblem {
  return { path: [], reason: `is larger than ${maxBytes} bytes as JSON` };
}

function tooDeep(path: (string | number)[]): JsonProblem {
  return { path, reason: `is nested deeper than ${LIMITS.jsonDepth} levels` };
}

function findKeyProblem(key: string): string | null {
  const textReason = unstorableTextReason(key);
  if (textReason) return `key ${textReason}`;
  if (key.startsWith('$')) return `key "${key}" starts with "$", which MongoDB reads as an operator; rename it`;
  if (key.includes('.')) return `key "${key}" contains ".", which MongoDB reads as a path; rename it`;
  if (FORBIDDEN_KEYS.has(key)) return `key "${key}" is refused: it can rewrite an object's prototype`;
  if (key.length > LIMITS.keyLength) return `key is longer than ${LIMITS.keyLength} characters`;
  return null;
}
