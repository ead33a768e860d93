/**
 * Builds the guest's HostLink from config: the transport named there (virtio-serial port
 * found in sysfs, unix socket or loopback TCP), kept open with capped reconnect backoff,
 * speaking the protocol of docs/protocol.md.
 */
import type { LinkConfig } from '../config/link.ts';
import { realClock, type Clock } from '../protocol/clock.ts';
import type { HostLink } from './host-link.ts';
import type { Logger } from './log.ts';
import { makeProtocolLink } from './protocol-link.ts';
import { makeTcpConnector, makeUnixConnector } from './transports/socket.ts';
import type { Connector } from './transports/types.ts';
import { makeVirtioSerialConnector } from './transports/virtio-serial.ts';

export function makeConnectorFromConfig(cfg: LinkConfig, clock: Clock = realClock): Connector {
  switch (cfg.transport) {
    case 'unix':
      if (!cfg.socketPath) throw new Error('link.transport unix needs link.socketPath');
      return makeUnixConnector(cfg.socketPath);
    case 'tcp':
      if (!cfg.tcpPort) throw new Error('link.transport tcp needs link.tcpPort');
      return makeTcpConnector(cfg.tcpHost, cfg.tcpPort);
    case 'virtio-serial':
      return makeVirtioSerialConnector({ portName: cfg.portName, sysRoot: cfg.sysRoot, devRoot: cfg.devRoot, clock, pollMs: cfg.pollMs });
  }
}

export function makeHostLinkFromConfig(cfg: LinkConfig, deps: { log: Logger; clock?: Clock }): HostLink {
  const clock = deps.clock ?? realClock;
  return makeProtocolLink(makeConnectorFromConfig(cfg, clock), {
    log: deps.log,
    clock,
    reconnectBaseMs: cfg.reconnectBaseMs,
    reconnectCapMs: cfg.reconnectCapMs,
    name: `${cfg.transport}:${cfg.socketPath ?? cfg.portName}`,
  });
}
