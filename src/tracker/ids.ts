/**
 * The default id generator: 24 lowercase hex characters laid out like a MongoDB ObjectId (4 bytes
 * of seconds, 5 random bytes, a 3-byte counter), so ids sort roughly by creation time and fit the
 * MongoDB adapter's `_id`s as they are. Any store accepts them as opaque strings. And the check
 * every id generator the tracker uses goes through.
 */
import { idSchema } from '../domain/fields.js';
import { ValidationError } from '../errors.js';
import type { IdGenerator } from '../port.js';
import { systemClock, type Clock } from './clock.js';
import { isPlainId } from './parse.js';

export function objectIdGenerator(clock: Clock): IdGenerator {
  const random = new Uint8Array(5);
  globalThis.crypto.getRandomValues(random);
  const processPart = Array.from(random, (byte) => byte.toString(16).padStart(2, '0')).join('');
  let counter = Math.floor(Math.random() * 0xffffff);
  // Ids are made on every creation: the system clock is read without making a Date, and the
  // seconds-and-process prefix is spelled once per second.
  const nowMs = clock === systemClock ? Date.now : () => clock.now().getTime();
  let prefixSeconds = -1;
  let prefix = '';
  return () => {
    counter = (counter + 1) % 0x1000000;
    const seconds = Math.floor(nowMs() / 1000) >>> 0;
    if (seconds !== prefixSeconds) {
      prefixSeconds = seconds;
      prefix = seconds.toString(16).padStart(8, '0') + processPart;
    }
    return prefix + counter.toString(16).padStart(6, '0');
  };
}

/** Where the tracker's ids come from, for error messages: the option at fault. */
type IdSource = 'options.ids' | 'options.repository.ids';

/**
 * The tracker's id generator, checked: the host's `ids`, else the repository's preferred ids,
 * else {@link objectIdGenerator}. Each id it returns must pass the rule the API applies to the ids
 * it is given (`idSchema`); one that does not is a `ValidationError` naming the generator, thrown
 * before the creation writes anything. An id no call could name again (empty, too long, with a
 * control character, not a string) would otherwise be stored, and a parent would wait for a child
 * nothing can complete.
 */
export function resolveIdGenerator(given: unknown, preferred: unknown, clock: Clock): IdGenerator {
  // `null` is "absent", as the `??` of the other options reads it.
  if (given !== undefined && given !== null) return checkedIds(requireFunction(given, 'options.ids'), 'options.ids');
  if (preferred !== undefined && preferred !== null) {
    return checkedIds(requireFunction(preferred, 'options.repository.ids'), 'options.repository.ids');
  }
  return checkedIds(objectIdGenerator(clock), 'options.ids');
}

function requireFunction(generator: unknown, field: IdSource): IdGenerator {
  if (typeof generator === 'function') return generator as IdGenerator;
  throw new ValidationError([{ field, reason: `must be a function (kind) => string, got ${describeValue(generator)}` }]);
}

function checkedIds(generator: IdGenerator, field: IdSource): IdGenerator {
  return (kind) => {
    const id: unknown = generator(kind);
    // Called once per creation: a plain id costs one regular expression; anything else is decided by idSchema.
    if (isPlainId(id)) return id;
    const result = idSchema.safeParse(id);
    if (result.success) return result.data;
    const rule = result.error.issues[0]?.message ?? 'is not an id';
    throw new ValidationError(
      [{ field, reason: `returned ${describeValue(id)} as the id of a new ${kind}, which is not an id the API accepts: ${rule}` }],
      result.error,
    );
  };
}

/** A short, printable account of a value for an error message (a long string is cut). */
function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length <= 40) return `the string ${JSON.stringify(value)}`;
    return `a ${value.length}-character string starting ${JSON.stringify(value.slice(0, 20))}`;
  }
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `the ${typeof value} ${String(value)}`;
}
