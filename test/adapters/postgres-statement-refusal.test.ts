/**
 * `isStatementRefusal` (client.ts): which failures of a group-commit batch are worth sending its
 * calls again one by one (the server ran the statement and refused it: a call may be the cause)
 * and which fail every call at once (the statement never ran). No server needed.
 */
import { describe, expect, it } from 'vitest';
import { isStatementRefusal } from '../../adapters/postgres/client.js';

const failure = (message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), fields);

describe('postgres: isStatementRefusal', () => {
  it('a SQLSTATE the server sent about the statement is a refusal, with or without the driver fields around it', () => {
    for (const code of ['23505', '23514', '22003', '57014', '55P03', '40P01', 'GL001', 'GL002'])
      expect(isStatementRefusal(failure('refused', { code })), code).toBe(true);
    expect(isStatementRefusal(failure('duplicate key', { code: '23505', severity: 'ERROR', constraint: 'x_pkey' }))).toBe(true);
  });

  it('a statement that never ran is not: no SQLSTATE (pool timeout, connection lost), a Node system error, connection exceptions, too few resources, shutdown', () => {
    expect(isStatementRefusal(failure('timeout exceeded when trying to connect'))).toBe(false);
    expect(isStatementRefusal(failure('Connection terminated unexpectedly'))).toBe(false);
    expect(isStatementRefusal(failure('write EPIPE', { code: 'EPIPE', errno: -32, syscall: 'write' }))).toBe(false);
    expect(isStatementRefusal(failure('connect ECONNREFUSED', { code: 'ECONNREFUSED', syscall: 'connect' }))).toBe(false);
    for (const code of ['08006', '08003', '53300', '53200', '57P01', '57P02', '57P03'])
      expect(isStatementRefusal(failure('not run', { code, severity: 'FATAL' })), code).toBe(false);
    expect(isStatementRefusal(null)).toBe(false);
    expect(isStatementRefusal('a string')).toBe(false);
  });
});
