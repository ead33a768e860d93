/**
 * The guest's link to the host agent, as the composition root sees it. Transports and the
 * wire protocol (src/protocol, docs/protocol.md) live behind it; the machine only sees the
 * events it emits and calls its three send functions through provided actions.
 */
import type { Observable } from 'rxjs';
import type {
  HostAckEvent,
  HostAvailableEvent,
  HostConnectedEvent,
  HostDisconnectedEvent,
  HostDoneEvent,
  HostLimitsEvent,
  HostReclaimEvent,
  HostWelcomeEvent,
  ReclaimReply,
  ResizeRequest,
} from '../machines/events.ts';

export type HostEvent =
  | HostConnectedEvent
  | HostDisconnectedEvent
  | HostWelcomeEvent
  | HostAckEvent
  | HostDoneEvent
  | HostLimitsEvent
  | HostReclaimEvent
  | HostAvailableEvent;

export interface HostLink {
  /** host.connected / host.disconnected and every decoded host message. */
  readonly events$: Observable<HostEvent>;
  sendHello(idPrefix: string): void;
  sendResize(request: ResizeRequest): void;
  replyReclaim(reply: ReclaimReply): void;
  close(): Promise<void>;
}
