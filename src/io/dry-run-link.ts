/**
 * The dry-run host link (`memresize guest --dry-run`): the real daemon on the real kernel,
 * with a link that sends nothing. What it does:
 * - connects at once and answers `hello` with a welcome carrying the limits given
 *   (config/flags: min, max, block size) and the plugged size the guest observes, so the
 *   machine reaches `ready` and takes its decisions as it would in production;
 * - logs every request it would send (`would send resize`, `would send hello`,
 *   `would reply reclaim`) and answers NOTHING that changes memory: resize requests are
 *   never acked, so each one times out, is retried with the same id and finally leaves
 *   the machine degraded until the next handshake — exactly what a silent host produces,
 *   visible in the transition log.
 */
import { Subject, type Observable, type SchedulerLike } from 'rxjs';
import type { HostEvent, HostLink } from './host-link.ts';
import type { Logger } from './log.ts';
import type { ReclaimReply, ResizeRequest } from '../machines/events.ts';

export interface DryRunLimits {
  minBytes: number;
  maxBytes: number;
  blockBytes: number;
}

export interface DryRunLink extends HostLink {
  /** Starts the fake session (host.connected); call after the actor subscribed. */
  connect(): void;
}

export function makeDryRunLink(limits: DryRunLimits, deps: { log: Logger; scheduler: SchedulerLike; pluggedBytes: () => number }): DryRunLink {
  const log = deps.log.child({ component: 'dry-run-link' });
  const events = new Subject<HostEvent>();
  const events$: Observable<HostEvent> = events.asObservable();
  return {
    events$,
    connect() {
      log.info({ ...limits }, 'dry run: host link replaced by a logger; nothing is sent');
      events.next({ type: 'host.connected' });
    },
    sendHello(idPrefix: string) {
      log.info({ idPrefix }, 'would send hello');
      const plugged = deps.pluggedBytes();
      // Answer on the scheduler, as a real host would, never inside the machine's own transition.
      deps.scheduler.schedule(() => events.next({ type: 'host.welcome', ...limits, requestedBytes: plugged, pluggedBytes: plugged }));
    },
    sendResize(request: ResizeRequest) {
      log.info({ requestId: request.id, kind: request.kind, from: request.fromBytes, target: request.targetBytes, reason: request.reason, attempt: request.attempt }, 'would send resize');
    },
    replyReclaim(reply: ReclaimReply) {
      log.info({ ...reply }, 'would reply reclaim');
    },
    async close() {
      events.complete();
    },
  };
}
