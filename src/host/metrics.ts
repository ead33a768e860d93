/**
 * Prometheus metrics of the host agent (prom-client, own registry so that several agents
 * can live in one process in tests), served on loopback only: they reveal every VM's sizes.
 *
 *   memresize_vm_requested_bytes{vm}  memresize_vm_plugged_bytes{vm}
 *   memresize_vm_min_bytes{vm}        memresize_vm_max_bytes{vm}
 *   memresize_budget_bytes            memresize_budget_held_bytes
 *   memresize_requests_total{vm,outcome}
 *   memresize_grant_latency_seconds{status}   (request received -> device reached / gave up)
 *   memresize_protocol_errors_total{vm,code}  memresize_disconnects_total{vm,reason}
 *   memresize_reclaims_total{vm,outcome}      (asked, accepted, refused)
 *   memresize_budget_offers_total{vm}         (budget freed, told to a VM refused for it)
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AgentMetrics } from './agent.ts';

export interface PromMetrics extends AgentMetrics {
  registry: Registry;
}

export function makePromMetrics(opts: { defaultMetrics?: boolean } = {}): PromMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'memresize_agent_' });
  const g = (name: string, help: string) => new Gauge({ name, help, labelNames: ['vm'], registers: [registry] });
  const requested = g('memresize_vm_requested_bytes', 'requested-size the agent last set on the VM\'s virtio-mem device');
  const plugged = g('memresize_vm_plugged_bytes', 'virtio-mem device size (memory the guest has plugged)');
  const min = g('memresize_vm_min_bytes', 'lowest device size the VM may get');
  const max = g('memresize_vm_max_bytes', 'highest device size the VM may get');
  const budget = new Gauge({ name: 'memresize_budget_bytes', help: 'host budget for all devices', registers: [registry] });
  const held = new Gauge({ name: 'memresize_budget_held_bytes', help: 'sum over VMs of max(requested, plugged)', registers: [registry] });
  const requests = new Counter({ name: 'memresize_requests_total', help: 'resize requests by outcome (retries answered from cache not counted)', labelNames: ['vm', 'outcome'], registers: [registry] });
  const latency = new Histogram({
    name: 'memresize_grant_latency_seconds',
    help: 'from a granted request to the device reaching its size (or the adapter giving up)',
    labelNames: ['status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const errors = new Counter({ name: 'memresize_protocol_errors_total', help: 'bad lines from guests', labelNames: ['vm', 'code'], registers: [registry] });
  const disconnects = new Counter({ name: 'memresize_disconnects_total', help: 'guest sessions ended', labelNames: ['vm', 'reason'], registers: [registry] });
  const reclaims = new Counter({ name: 'memresize_reclaims_total', help: 'memory asked back from a VM (reclaim) and its replies', labelNames: ['vm', 'outcome'], registers: [registry] });
  const offers = new Counter({ name: 'memresize_budget_offers_total', help: 'budget freed and offered (available) to a VM refused for it', labelNames: ['vm'], registers: [registry] });
  return {
    registry,
    request: (vm, outcome) => requests.inc({ vm, outcome }),
    grantLatency: (_vm, status, s) => latency.observe({ status }, s),
    protocolError: (vm, code) => errors.inc({ vm, code }),
    disconnect: (vm, reason) => disconnects.inc({ vm, reason: reason.slice(0, 40) }),
    reclaim: (vm, outcome) => reclaims.inc({ vm, outcome }),
    available: (vm) => offers.inc({ vm }),
    vmSizes: (vm, s) => {
      requested.set({ vm }, s.requested);
      plugged.set({ vm }, s.plugged);
      min.set({ vm }, s.min);
      max.set({ vm }, s.max);
    },
    budget: (b, h) => {
      budget.set(b);
      held.set(h);
    },
  };
}

export async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
