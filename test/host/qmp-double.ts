/**
 * A QMP test double: a unix-socket server that speaks QEMU's wire format (greeting,
 * capabilities negotiation, commands with ids, error replies, events with timestamps)
 * for one virtio-mem device, with a guest that plugs and unplugs over time. It stands in
 * for QEMU until the end-to-end issue runs the real thing; its replies copy QEMU 7.2's.
 */
import fs from 'node:fs';
import net from 'node:net';

export interface QmpDoubleOptions {
  path: string;
  device?: string;
  memdev?: string;
  blockBytes: number;
  maxBytes: number;
  /** Bytes the simulated guest moves per tick (tick = tickMs). */
  bytesPerTick: number;
  tickMs?: number;
  /** Unplug stops at this size (pinned memory) until requested-size is set again. */
  unplugFloorBytes?: number;
  /** Each set of requested-size below a device stuck at the floor lowers the floor by this much (the retry frees more). */
  floorDropPerSet?: number;
  /** Do not answer these commands (to test timeouts). */
  silentCommands?: string[];
}

export class QmpDouble {
  requested = 0;
  size = 0;
  readonly commands: { execute: string; arguments?: Record<string, unknown>; id?: unknown }[] = [];
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  private timer: NodeJS.Timeout | null = null;
  private floor: number;
  private lastEventAt = 0;

  constructor(private readonly o: QmpDoubleOptions) {
    this.floor = o.unplugFloorBytes ?? 0;
  }

  get device(): string {
    return this.o.device ?? 'vm0';
  }

  async start(): Promise<void> {
    try {
      fs.unlinkSync(this.o.path);
    } catch {
      // absent
    }
    this.server = net.createServer((s) => this.serve(s));
    await new Promise<void>((resolve) => this.server!.listen(this.o.path, resolve));
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 5);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private tick(): void {
    const before = this.size;
    const step = this.o.bytesPerTick;
    if (this.size < this.requested) this.size = Math.min(this.requested, this.size + step);
    else if (this.size > this.requested) this.size = Math.max(this.requested, Math.max(this.floor, this.size - step));
    // QEMU rate-limits this event (about one per second per device); the double too.
    if (this.size !== before && Date.now() - this.lastEventAt >= 1000) {
      this.lastEventAt = Date.now();
      const now = Date.now();
      this.broadcast({
        event: 'MEMORY_DEVICE_SIZE_CHANGE',
        data: { id: this.device, size: this.size, 'qom-path': `/machine/peripheral/${this.device}` },
        timestamp: { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 },
      });
    }
  }

  private broadcast(obj: unknown): void {
    for (const s of this.sockets) s.write(`${JSON.stringify(obj)}\r\n`);
  }

  private serve(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
    s.write(`${JSON.stringify({ QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7+deb12u16' }, capabilities: ['oob'] } })}\r\n`);
    let negotiated = false;
    let buf = '';
    s.on('data', (chunk) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!text.trim()) continue;
        let cmd: { execute?: string; arguments?: Record<string, unknown>; id?: unknown };
        try {
          cmd = JSON.parse(text);
        } catch {
          s.write(`${JSON.stringify({ error: { class: 'GenericError', desc: 'JSON parse error, expecting value' } })}\r\n`);
          continue;
        }
        const reply = (body: object) => s.write(`${JSON.stringify(cmd.id === undefined ? body : { ...body, id: cmd.id })}\r\n`);
        if (typeof cmd.execute !== 'string') {
          reply({ error: { class: 'GenericError', desc: "QMP input lacks member 'execute'" } });
          continue;
        }
        this.commands.push(cmd as { execute: string });
        if (this.o.silentCommands?.includes(cmd.execute)) continue;
        if (!negotiated) {
          if (cmd.execute === 'qmp_capabilities') {
            negotiated = true;
            reply({ return: {} });
          } else {
            reply({ error: { class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" } });
          }
          continue;
        }
        reply(this.execute(cmd.execute, cmd.arguments ?? {}));
      }
    });
  }

  private execute(command: string, args: Record<string, unknown>): object {
    const devPath = `/machine/peripheral/${this.device}`;
    const memdevPath = `/objects/${this.o.memdev ?? 'vmem0'}`;
    if (command === 'qmp_capabilities') return { error: { class: 'CommandNotFound', desc: 'Capabilities negotiation is already complete, command ignored' } };
    if (command === 'qom-get') {
      if (args.path === memdevPath && args.property === 'size') return { return: this.o.maxBytes };
      if (args.path !== devPath) return { error: { class: 'DeviceNotFound', desc: `Device '${String(args.path)}' not found` } };
      switch (args.property) {
        case 'size':
          return { return: this.size };
        case 'requested-size':
          return { return: this.requested };
        case 'block-size':
          return { return: this.o.blockBytes };
        case 'memdev':
          return { return: memdevPath };
        default:
          return { error: { class: 'GenericError', desc: `Property '${String(args.property)}' not found` } };
      }
    }
    if (command === 'qom-set') {
      if (args.path !== devPath) return { error: { class: 'DeviceNotFound', desc: `Device '${String(args.path)}' not found` } };
      if (args.property !== 'requested-size') return { error: { class: 'GenericError', desc: `Property '${String(args.property)}' not found` } };
      const v = args.value;
      if (typeof v !== 'number' || v % this.o.blockBytes !== 0) {
        return { error: { class: 'GenericError', desc: `'requested-size' property has to be multiples of 'block-size' (0x${this.o.blockBytes.toString(16)})` } };
      }
      if (v > this.o.maxBytes) return { error: { class: 'GenericError', desc: "'requested-size' cannot exceed the memory backend size" } };
      // A request below a device stuck at its floor is the guest's cue to retry the unplug
      // (virtio-mem's config-change interrupt: any set, the same value included).
      if (this.size > v && this.size <= this.floor) this.floor = Math.max(0, this.floor - (this.o.floorDropPerSet ?? 0));
      this.requested = v;
      return { return: {} };
    }
    return { error: { class: 'CommandNotFound', desc: `The command ${command} has not been found` } };
  }
}
