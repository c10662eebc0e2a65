/**
 * The default logger of the tracker and of the database adapters: warnings and errors to
 * `console`. Each takes its own through a `logger` option; pass `silentLogger` to hear nothing.
 */
import type { Logger } from './context.js';

export const consoleLogger: Logger = Object.freeze({
  warn: (message: string, details?: Record<string, unknown>) => console.warn(message, details ?? ''),
  error: (message: string, details?: Record<string, unknown>) => console.error(message, details ?? ''),
});

/** A logger that drops everything: for tests, or a host that watches the store another way. */
export const silentLogger: Logger = Object.freeze({ warn: () => undefined, error: () => undefined });
