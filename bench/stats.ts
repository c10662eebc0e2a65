/** Small statistics and formatting helpers for the benchmark tables. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** CPU time of this process (all its threads, user and system), in milliseconds. */
export function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** A number with thousands separators and `digits` decimals. */
export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio as `1.23x`. */
export function times(value: number): string {
  return `${value.toFixed(2)}x`;
}

/** A markdown table. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const rule = headers.map((_, index) => ((align?.[index] ?? (index === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---'));
  return [line(headers), line(rule), ...rows.map(line)].join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `amount` (a plain decimal string) times `n`, exactly, in canonical form: the expected total of `n` equal costs. */
export function exactMultiple(amount: string, n: number): string {
  const [whole = '0', fraction = ''] = amount.split('.');
  const units = BigInt(whole + fraction) * BigInt(n);
  const text = units.toString().padStart(fraction.length + 1, '0');
  const head = text.slice(0, text.length - fraction.length);
  const tail = text.slice(text.length - fraction.length).replace(/0+$/, '');
  return tail ? `${head}.${tail}` : head;
}
