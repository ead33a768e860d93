/**
 * A QMP man-in-the-middle for scenario d: the host agent's qemu adapter talks to QEMU
 * through it. Lines pass through unchanged, except that once `holdOnGrow()` is armed and the
 * agent sends a `qom-set` that raises the virtio-mem device's requested-size, the command
 * still goes to QEMU at once (the plug really starts) but everything QEMU says back to the
 * agent is held. That opens a window in which the agent has decided and acked the grow,
 * QEMU is plugging, and the agent has not seen the qom-set reply nor reported `done`: the
 * test kills the agent inside it, mid-request, deterministically. Held lines are released
 * after `holdMs` if nothing happened (so a test that does not kill cannot hang the agent).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface QomSetSeen {
  value: number;
  at: number;
}

export class QmpDelayProxy {
  private server: Server | undefined;
  private armed = false;
  private lastRequested = 0;
  private readonly conns = new Set<Socket>();
  private waiter: ((s: QomSetSeen) => void) | undefined;
  /** Every requested-size the agent set through the proxy, in order. */
  readonly qomSets: QomSetSeen[] = [];

  constructor(
    readonly path: string,
    private readonly upstreamPath: string,
    private readonly holdMs = 5000,
  ) {}

  async listen(): Promise<void> {
    this.server = createServer((client) => this.onClient(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => resolve());
    });
  }

  /** Arms the hold for the next qom-set that grows requested-size; resolves when it passes. */
  holdOnGrow(): Promise<QomSetSeen> {
    this.armed = true;
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private onClient(client: Socket): void {
    const up = connect(this.upstreamPath);
    this.conns.add(client).add(up);
    let held: string[] | undefined;
    let buf = '';
    client.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl + 1);
        buf = buf.slice(nl + 1);
        try {
          const msg = JSON.parse(line) as { execute?: string; arguments?: { property?: string; value?: unknown } };
          if (msg.execute === 'qom-set' && msg.arguments?.property === 'requested-size' && typeof msg.arguments.value === 'number') {
            const seen = { value: msg.arguments.value, at: Date.now() };
            this.qomSets.push(seen);
            if (this.armed && seen.value > this.lastRequested) {
              this.armed = false;
              held = [];
              setTimeout(() => {
                const lines = held ?? [];
                held = undefined;
                for (const l of lines) client.write(l);
              }, this.holdMs).unref();
              this.waiter?.(seen);
              this.waiter = undefined;
            }
            this.lastRequested = seen.value;
          }
        } catch {
          // not JSON: pass it on as it is
        }
        up.write(line);
      }
    });
    up.on('data', (chunk: Buffer) => {
      if (held) held.push(chunk.toString('utf8'));
      else client.write(chunk);
    });
    const close = () => {
      client.destroy();
      up.destroy();
      this.conns.delete(client);
      this.conns.delete(up);
    };
    client.on('close', close).on('error', close);
    up.on('close', close).on('error', close);
  }

  close(): void {
    for (const s of this.conns) s.destroy();
    this.conns.clear();
    this.server?.close();
  }
}
