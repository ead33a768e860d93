/**
 * A minimal QMP client for the TEST side: it reads and sets the virtio-mem device's sizes
 * to check what the product did. The product's own QMP adapter lives in src/host; this one
 * deliberately shares nothing with it, so a bug there cannot hide itself here.
 *
 * QMP wire format (QEMU docs/interop/qmp-spec): newline-delimited JSON over a unix socket.
 *   server greeting   {"QMP": {"version": {...}, "capabilities": [...]}}
 *   command           {"execute": "qom-get", "arguments": {...}, "id": N}
 *   reply             {"return": ..., "id": N}  or  {"error": {"class", "desc"}, "id": N}
 *   async event       {"event": "MEMORY_DEVICE_SIZE_CHANGE", "data": {...}, "timestamp": {...}}
 * Nothing is accepted before {"execute": "qmp_capabilities"} has been answered.
 */
import { connect, type Socket } from 'node:net';

export interface QmpEvent {
  event: string;
  data?: unknown;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class QmpClient {
  readonly events: QmpEvent[] = [];
  private nextId = 1;
  private buf = '';
  private readonly pending = new Map<number, Pending>();
  private greeted!: () => void;
  private readonly greeting = new Promise<void>((res) => (this.greeted = res));

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('QMP socket closed'));
      this.pending.clear();
    });
    sock.on('error', () => undefined);
  }

  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`QMP connect to ${path} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    const c = new QmpClient(sock);
    await c.greeting;
    await c.execute('qmp_capabilities');
    return c;
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line) as { QMP?: unknown; id?: number; return?: unknown; error?: { desc: string }; event?: string; data?: unknown };
      if (msg.QMP) this.greeted();
      else if (msg.event) this.events.push({ event: msg.event, data: msg.data });
      else if (typeof msg.id === 'number') {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`QMP: ${msg.error.desc}`));
        else p?.resolve(msg.return);
      }
    }
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(`${JSON.stringify({ execute: command, arguments: args, id })}\n`);
    });
  }

  async qomGetNumber(path: string, property: string): Promise<number> {
    const v = await this.execute('qom-get', { path, property });
    if (typeof v !== 'number') throw new Error(`qom-get ${path} ${property}: not a number: ${JSON.stringify(v)}`);
    return v;
  }

  async qomSet(path: string, property: string, value: unknown): Promise<void> {
    await this.execute('qom-set', { path, property, value });
  }

  close(): void {
    this.sock.destroy();
  }
}

/** The virtio-mem device the harness creates (`-device virtio-mem-pci,id=vm0`). */
export class VirtioMemDevice {
  constructor(
    private readonly qmp: QmpClient,
    readonly path = '/machine/peripheral/vm0',
  ) {}

  size(): Promise<number> {
    return this.qmp.qomGetNumber(this.path, 'size');
  }

  requestedSize(): Promise<number> {
    return this.qmp.qomGetNumber(this.path, 'requested-size');
  }

  setRequestedSize(bytes: number): Promise<void> {
    return this.qmp.qomSet(this.path, 'requested-size', bytes);
  }

  /**
   * Polls `size` until `done(size)` holds or the deadline passes; returns the last size and
   * the time it took. MEMORY_DEVICE_SIZE_CHANGE events are rate-limited (~1/s), so polling
   * is the measurement.
   */
  async waitSize(done: (size: number) => boolean, timeoutMs: number, pollMs = 10): Promise<{ size: number; ms: number; ok: boolean }> {
    const t0 = performance.now();
    let size = await this.size();
    while (!done(size)) {
      if (performance.now() - t0 > timeoutMs) return { size, ms: performance.now() - t0, ok: false };
      await new Promise((r) => setTimeout(r, pollMs));
      size = await this.size();
    }
    return { size, ms: performance.now() - t0, ok: true };
  }

  /** Waits until `size` has not changed for `quietMs` (an unplug that gave up), up to timeoutMs. */
  async waitSettled(quietMs: number, timeoutMs: number, pollMs = 250): Promise<number> {
    const t0 = performance.now();
    let last = await this.size();
    let since = performance.now();
    while (performance.now() - t0 < timeoutMs) {
      await new Promise((r) => setTimeout(r, pollMs));
      const s = await this.size();
      if (s !== last) {
        last = s;
        since = performance.now();
      } else if (performance.now() - since >= quietMs) break;
    }
    return last;
  }
}
