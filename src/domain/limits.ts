/**
 * Input limits. Every one exists because a store or a browser would otherwise fail later, far from
 * the call that caused it (a MongoDB document is at most 16 MiB; a key starting with `$` is an
 * operator to MongoDB; `__proto__` rewrites an object's prototype in JavaScript).
 */
export const LIMITS = {
  /** Ids, account ids, tool ids, idempotency keys. */
  idLength: 128,
  /** Names and short labels: tool display name, service name, platform, live status text. */
  labelLength: 256,
  /** Free text such as a delivery error message. */
  textLength: 8_192,
  /** One artifact URL. */
  urlLength: 4_096,
  /** Artifact URLs on one generation. */
  artifactUrls: 1_000,
  /** `metadata` of any record, serialised as JSON. */
  metadataBytes: 64 * 1024,
  /** `requestPayload`, `responsePayload` and `errorDetails`, each, serialised as JSON. */
  payloadBytes: 1024 * 1024,
  /** Nesting depth of any JSON value. */
  jsonDepth: 32,
  /** One object key. */
  keyLength: 256,
  /** |points| on one generation; keeps sums of millions of them exact in a double. */
  pointsPerGeneration: 1_000_000_000,
  /** Steps a cast may declare. */
  totalSteps: 100_000,
  /** Pieces a cook may target. */
  targetSupply: 100_000_000,
  /** Earliest and latest instants a timestamp may hold: every store keeps these exactly. */
  earliestDate: '1970-01-01T00:00:00.000Z',
  latestDate: '9999-12-31T23:59:59.999Z',
} as const;

/** Keys refused anywhere inside metadata and payloads (see docs/concepts.md, "Limits"). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
