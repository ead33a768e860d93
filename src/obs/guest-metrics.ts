/**
 * The guest daemon's metrics in the Prometheus text exposition format, for node-exporter's
 * textfile collector (the guest usually runs node-exporter already; a second HTTP endpoint
 * inside every VM would be one more port to secure). Gauges from the live status, counters
 * from the transitions seen since start.
 */
import type { TransitionRecord } from '../io/transition-trace.ts';
import type { GuestStatus } from './status.ts';

export class GuestCounters {
  readonly requests = new Map<string, number>();
  readonly outcomes = new Map<string, number>();
  transitions = 0;
  /** PSI triggers not answered: the kernel had memory to spare (src/policy/reclaim.ts). */
  psiDiscounted = 0;
  /** PSI trigger events, and probe reads (below a decayed stall floor, rtpoll mode), since start. */
  psiTriggers = 0;
  psiProbeReads = 0;
  private lastRequestId: string | undefined;

  /** Feed every transition record (the tracer's onRecord). */
  note(rec: TransitionRecord): void {
    if (rec.from === rec.to) return;
    this.transitions++;
    const req = rec.context.request;
    if (rec.to === 'ready.awaiting-host.sent' && req && req.id !== this.lastRequestId) {
      this.lastRequestId = req.id;
      this.requests.set(req.kind, (this.requests.get(req.kind) ?? 0) + 1);
    }
    if (rec.event === 'host.ack' && rec.context.lastOutcome) {
      const o = rec.context.lastOutcome;
      this.outcomes.set(o, (this.outcomes.get(o) ?? 0) + 1);
    }
  }
}

const STATES = ['connecting', 'handshake', 'degraded', 'idle', 'awaiting-host', 'growing', 'shrinking', 'cooling'];

function phase(state: string): string {
  const parts = state.split('.');
  return parts[0] === 'ready' ? (parts[1] ?? 'ready') : (parts[0] ?? state);
}

export function renderGuestMetrics(s: GuestStatus, c: GuestCounters): string {
  const out: string[] = [];
  const gauge = (name: string, help: string, value: number | null | undefined) => {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
  };
  gauge('memresize_guest_plugged_bytes', 'Device memory the guest observes plugged.', s.sizes.pluggedBytes);
  gauge('memresize_guest_host_requested_bytes', 'What the host last said it requested of the device.', s.sizes.hostRequestedBytes);
  gauge('memresize_guest_target_bytes', 'Size the current resize waits for.', s.sizes.targetBytes);
  gauge('memresize_guest_mem_total_bytes', 'MemTotal of the last sample.', s.sizes.memTotalBytes);
  gauge('memresize_guest_mem_available_bytes', 'MemAvailable of the last sample.', s.sizes.memAvailableBytes);
  gauge('memresize_guest_limit_min_bytes', 'The VM\'s minimum device size (from the host).', s.limits.minBytes);
  gauge('memresize_guest_limit_max_bytes', 'The VM\'s maximum device size (from the host).', s.limits.maxBytes);
  gauge('memresize_guest_at_ceiling', '1 after a denial at the VM\'s max, until limits or usage change.', s.atCeiling ? 1 : 0);
  gauge('memresize_guest_unplug_failures', 'Consecutive failed or partial unplugs.', s.unplugFailures);
  gauge('memresize_guest_grow_latency_seconds', 'Measured grow latency (request to memory observed), averaged.', s.growLatencyMs / 1000);
  out.push('# HELP memresize_guest_state The machine\'s current state (1 for the active one).', '# TYPE memresize_guest_state gauge');
  const now = phase(s.state);
  for (const st of STATES) out.push(`memresize_guest_state{state="${st}"} ${st === now ? 1 : 0}`);
  out.push('# HELP memresize_guest_transitions_total State changes since start.', '# TYPE memresize_guest_transitions_total counter', `memresize_guest_transitions_total ${c.transitions}`);
  out.push('# HELP memresize_guest_requests_total Resize requests sent, by kind (resends of an id not counted).', '# TYPE memresize_guest_requests_total counter');
  for (const [kind, n] of [...c.requests].sort()) out.push(`memresize_guest_requests_total{kind="${kind}"} ${n}`);
  out.push('# HELP memresize_guest_acks_total Host answers, by outcome.', '# TYPE memresize_guest_acks_total counter');
  for (const [o, n] of [...c.outcomes].sort()) out.push(`memresize_guest_acks_total{outcome="${o}"} ${n}`);
  out.push('# HELP memresize_guest_psi_discounted_total PSI triggers not answered because memory was free above the watermarks (a cgroup limit or compaction stalled).', '# TYPE memresize_guest_psi_discounted_total counter', `memresize_guest_psi_discounted_total ${c.psiDiscounted}`);
  out.push(
    '# HELP memresize_guest_psi_reads_total PSI events and reads, by kind: trigger (the kernel\'s trigger fired), probe (read every psiProbeIntervalMs below a decayed stall floor).',
    '# TYPE memresize_guest_psi_reads_total counter',
    `memresize_guest_psi_reads_total{kind="probe"} ${c.psiProbeReads}`,
    `memresize_guest_psi_reads_total{kind="trigger"} ${c.psiTriggers}`,
  );
  return out.join('\n') + '\n';
}
