/**
 * Capped exponential backoff with "equal jitter": half the delay is fixed, half random.
 * The random half comes from a hash of the request id and attempt, not from Math.random,
 * so the machine stays a pure function of its events and the simulator replays exactly;
 * different guests still spread out because their ids differ.
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number, jitter01: number): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  const j = Math.min(Math.max(jitter01, 0), 1);
  return Math.round(exp / 2 + (exp / 2) * j);
}

/** FNV-1a of the key, folded into [0, 1). Deterministic jitter source. */
export function jitterOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000;
}
