/**
 * The default id generator: 24 lowercase hex characters laid out like a MongoDB ObjectId (4 bytes
 * of seconds, 5 random bytes, a 3-byte counter), so ids sort roughly by creation time and fit the
 * MongoDB adapter's `_id`s as they are. Any store accepts them as opaque strings.
 */
import type { IdGenerator } from '../port.js';
import { systemClock, type Clock } from './clock.js';

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
