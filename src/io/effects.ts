/**
 * The real implementations of the machine's effect actions: send through the host link
 * and log every decision with its inputs. Provided to the machine with `.provide()` by the
 * composition root (and by the simulator, with a simulated link).
 */
import type { HostLink } from './host-link.ts';
import type { Logger } from './log.ts';
import type { ReclaimReply, ResizeRequest } from '../machines/events.ts';

export function makeResizerEffects(link: Pick<HostLink, 'sendHello' | 'sendResize' | 'replyReclaim'>, log: Logger) {
  const decisions = log.child({ component: 'decision' });
  return {
    actions: {
      sendHello: (_: unknown, p: { idPrefix: string }) => {
        link.sendHello(p.idPrefix);
      },
      sendResize: (_: unknown, req: ResizeRequest) => {
        decisions.info(
          { requestId: req.id, kind: req.kind, from: req.fromBytes, target: req.targetBytes, reason: req.reason, pressure: req.pressure, attempt: req.attempt },
          req.attempt === 0 ? 'request' : 'request retry',
        );
        link.sendResize(req);
      },
      replyReclaim: (_: unknown, reply: ReclaimReply) => {
        decisions.info({ reclaimId: reply.id, accepted: reply.accepted, bytes: reply.bytes, reason: reply.reason }, 'reclaim reply');
        link.replyReclaim(reply);
      },
    },
  };
}
