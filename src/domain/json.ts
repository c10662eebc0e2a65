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

/**
 * Checks that `value` is plain JSON within the limits. Returns the first problem, or `null`.
 * Walks iteratively with an explicit depth limit, so a hostile deep or cyclic value cannot
 * overflow the stack.
 */
export function findJsonProblem(value: unknown, maxBytes: number): JsonProblem | null {
  let bytes = 0;
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (path.length > LIMITS.jsonDepth) {
      return { path, reason: `is nested deeper than ${LIMITS.jsonDepth} levels` };
    }
    if (current === null || typeof current === 'boolean') {
      bytes += 5;
    } else if (typeof current === 'string') {
      const reason = unstorableTextReason(current);
      if (reason) return { path, reason };
      bytes += current.length + 2;
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { path, reason: `must be a finite number, got ${String(current)}` };
      bytes += 8;
    } else if (Array.isArray(current)) {
      bytes += 2;
      for (let index = current.length - 1; index >= 0; index -= 1) {
        stack.push({ value: current[index], path: [...path, index] });
      }
    } else if (typeof current === 'object') {
      const prototype = Object.getPrototypeOf(current) as unknown;
      if (prototype !== Object.prototype && prototype !== null) {
        const kind = (current as object).constructor?.name ?? 'object';
        return { path, reason: `must be plain JSON, got a ${kind} (convert it to a string or plain object first)` };
      }
      bytes += 2;
      for (const key of Object.keys(current)) {
        const keyProblem = findKeyProblem(key);
        if (keyProblem) return { path: [...path, key], reason: keyProblem };
        bytes += key.length + 3;
        stack.push({ value: (current as Record<string, unknown>)[key], path: [...path, key] });
      }
    } else {
      return { path, reason: `must be plain JSON, got a ${typeof current}` };
    }
    if (bytes > maxBytes) return { path: [], reason: `is larger than ${maxBytes} bytes as JSON` };
  }
  return null;
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
