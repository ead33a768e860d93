/**
 * Parser of the kernel's pressure files: /proc/pressure/memory and a cgroup v2
 * group's memory.pressure. Pure: text in, typed result out, never a throw.
 */

export interface PsiLine {
  /** Percent of wall time stalled, exponentially averaged over 10 s, 60 s, 300 s. */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Cumulative stall in microseconds since boot (or since the cgroup was created); exact and monotonic. */
  totalUs: number;
}

export interface Pressure {
  some: PsiLine;
  /** Absent in cpu.pressure on older kernels; always present for memory. */
  full: PsiLine | null;
}

export type PsiParseErrorCode = 'empty' | 'truncated' | 'missing-some' | 'garbled';

export interface PsiParseError {
  code: PsiParseErrorCode;
  message: string;
}

export type PsiParseResult = { ok: true; value: Pressure } | { ok: false; error: PsiParseError };

const LINE_RE = /^(some|full) avg10=(\d+\.\d+) avg60=(\d+\.\d+) avg300=(\d+\.\d+) total=(\d+)$/;

/**
 * Format (Documentation/accounting/psi.rst), one line per kind, `full` optional:
 *
 *   some avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *
 * avgN are percents with two decimals; total is microseconds. A line that does not match
 * exactly (truncated read, garbage) makes the whole read invalid: a half-parsed total
 * would show up as a huge stall delta later. The kernel ends every line with "\n", so
 * a read that does not end with one was cut short (even if "total=2" still matches).
 */
export function parsePressure(text: string): PsiParseResult {
  if (text.trim() !== '' && !text.endsWith('\n')) return { ok: false, error: { code: 'truncated', message: 'pressure read does not end with a newline (cut short)' } };
  let some: PsiLine | null = null;
  let full: PsiLine | null = null;
  let seen = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    seen++;
    const m = LINE_RE.exec(line);
    if (!m) return { ok: false, error: { code: 'garbled', message: `unexpected pressure line: ${JSON.stringify(line.slice(0, 80))}` } };
    const parsed: PsiLine = { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), totalUs: Number(m[5]) };
    if (m[1] === 'some') some = parsed;
    else full = parsed;
  }
  if (seen === 0) return { ok: false, error: { code: 'empty', message: 'pressure file is empty' } };
  if (!some) return { ok: false, error: { code: 'missing-some', message: 'pressure file has no "some" line' } };
  return { ok: true, value: { some, full } };
}
