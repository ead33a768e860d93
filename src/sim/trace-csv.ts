/**
 * The workload trace format (docs/simulator.md), what `memresize record` writes and
 * `memresize sim --trace` replays:
 *
 *   # comment lines start with '#'; blank lines are ignored
 *   t_s,anon_bytes,file_bytes[,unmovable_bytes][,any other column...]
 *   0,104857600,52428800
 *   1.5,157286400,52428800
 *
 * - The header is required; t_s, anon_bytes and file_bytes must be in it (any order).
 * - t_s: seconds from the trace start, >= 0, strictly increasing.
 * - anon_bytes: anonymous memory the workload needs resident (no swap).
 * - file_bytes: the file working set (page cache the workload re-reads).
 * - unmovable_bytes (optional): memory that cannot be migrated (pinned); unplug fails on it.
 * - Other columns (record writes mem_total_bytes, mem_available_bytes, psi_some_total_us,
 *   psi_full_total_us) are kept as extra numbers and ignored by the simulator.
 * Values are non-negative decimal numbers. Between rows the simulator interpolates linearly.
 */
export interface TracePoint {
  tS: number;
  anonBytes: number;
  fileBytes: number;
  unmovableBytes: number;
  extra: Record<string, number>;
}

export class TraceParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const REQUIRED = ['t_s', 'anon_bytes', 'file_bytes'] as const;

export function parseTraceCsv(text: string): TracePoint[] {
  const lines = text.split(/\r?\n/);
  let header: string[] | null = null;
  const points: TracePoint[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const cells = raw.split(',').map((c) => c.trim());
    if (!header) {
      header = cells;
      for (const name of REQUIRED) if (!header.includes(name)) throw new TraceParseError(lineNo, `header lacks column '${name}' (got: ${raw})`);
      const dup = header.find((h, j) => header!.indexOf(h) !== j);
      if (dup) throw new TraceParseError(lineNo, `duplicate column '${dup}'`);
      continue;
    }
    if (cells.length !== header.length) throw new TraceParseError(lineNo, `expected ${header.length} values, got ${cells.length}`);
    const row: Record<string, number> = {};
    header.forEach((name, j) => {
      const cell = cells[j]!;
      const v = Number(cell);
      if (cell === '' || !Number.isFinite(v)) throw new TraceParseError(lineNo, `column '${name}': '${cell}' is not a number`);
      if (v < 0) throw new TraceParseError(lineNo, `column '${name}': ${cell} is negative`);
      row[name] = v;
    });
    const prev = points[points.length - 1];
    if (prev && row.t_s! <= prev.tS) throw new TraceParseError(lineNo, `t_s ${row.t_s} does not increase (previous ${prev.tS})`);
    const { t_s, anon_bytes, file_bytes, unmovable_bytes, ...extra } = row;
    points.push({ tS: t_s!, anonBytes: anon_bytes!, fileBytes: file_bytes!, unmovableBytes: unmovable_bytes ?? 0, extra });
  }
  if (!header) throw new TraceParseError(lines.length, 'empty trace: no header');
  if (points.length === 0) throw new TraceParseError(lines.length, 'trace has a header but no rows');
  return points;
}

export function formatTraceCsv(points: readonly TracePoint[], extraColumns: readonly string[] = []): string {
  const head = ['t_s', 'anon_bytes', 'file_bytes', 'unmovable_bytes', ...extraColumns].join(',');
  const rows = points.map((p) =>
    [+p.tS.toFixed(3), Math.round(p.anonBytes), Math.round(p.fileBytes), Math.round(p.unmovableBytes), ...extraColumns.map((c) => p.extra[c] ?? 0)].join(','),
  );
  return `${head}\n${rows.join('\n')}\n`;
}
