/**
 * The test's hands inside the guest: runs shell commands through the control agent
 * (test/e2e/guest/agent.sh) over the virtio-serial port org.memresize.e2e, whose host end is
 * a QEMU chardev unix socket. The wire format is documented in agent.sh:
 *   to guest: `<id> <command>`;  from guest: `O <id> <line>` and `X <id> <status>`.
 */
import { connect, type Socket } from 'node:net';

export interface JobResult {
  status: number;
  lines: string[];
  ms: number;
}

export interface Job {
  readonly id: number;
  readonly lines: string[];
  readonly done: Promise<JobResult>;
  /** Resolves with the first output line matching `re` (rejects if the job ends first). */
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
}

interface JobState {
  lines: string[];
  listeners: Array<(line: string) => void>;
  finish: (status: number) => void;
  started: number;
}

export class GuestControl {
  private nextId = 1;
  private buf = '';
  private readonly jobs = new Map<number, JobState>();
  private sock: Socket | undefined;

  constructor(private readonly socketPath: string) {}

  /** Connects to QEMU's chardev server; retried while QEMU is still creating the socket. */
  async connect(timeoutMs = 10_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      try {
        this.sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(this.socketPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        break;
      } catch (err) {
        if (Date.now() - t0 > timeoutMs) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.sock.setEncoding('utf8');
    this.sock.on('data', (c: string) => this.onData(c));
    this.sock.on('error', () => undefined);
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = /^([OX]) (\d+) ?(.*)$/.exec(line);
      if (!m) continue;
      const job = this.jobs.get(Number(m[2]));
      if (!job) continue;
      const rest = m[3] ?? '';
      if (m[1] === 'O') {
        job.lines.push(rest);
        for (const l of job.listeners) l(rest);
      } else {
        this.jobs.delete(Number(m[2]));
        job.finish(Number(rest));
      }
    }
  }

  start(command: string): Job {
    if (!this.sock) throw new Error('guest control not connected');
    if (command.includes('\n')) throw new Error('guest commands are one line');
    const id = this.nextId++;
    const lines: string[] = [];
    const listeners: JobState['listeners'] = [];
    let finish!: (status: number) => void;
    const started = performance.now();
    const done = new Promise<JobResult>((resolve) => {
      finish = (status) => resolve({ status, lines, ms: performance.now() - started });
    });
    this.jobs.set(id, { lines, listeners, finish, started });
    this.sock.write(`${id} ${command}\n`);
    const waitFor = (re: RegExp, timeoutMs: number): Promise<string> =>
      new Promise((resolve, reject) => {
        const hit = lines.find((l) => re.test(l));
        if (hit !== undefined) return resolve(hit);
        const t = setTimeout(() => reject(new Error(`job ${id} (${command}): no line matching ${re} within ${timeoutMs} ms`)), timeoutMs);
        listeners.push((l) => {
          if (re.test(l)) {
            clearTimeout(t);
            resolve(l);
          }
        });
        void done.then((r) => {
          clearTimeout(t);
          reject(new Error(`job ${id} (${command}) ended with status ${r.status} before a line matching ${re}`));
        });
      });
    return { id, lines, done, waitFor };
  }

  /** Runs a command to completion; rejects on timeout (the job keeps running in the guest). */
  async run(command: string, timeoutMs = 60_000): Promise<JobResult> {
    const job = this.start(command);
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`guest command timed out after ${timeoutMs} ms: ${command}`)), timeoutMs);
    });
    try {
      return await Promise.race([job.done, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  /** Runs a command that must succeed and returns its output. */
  async sh(command: string, timeoutMs = 60_000): Promise<string> {
    const r = await this.run(command, timeoutMs);
    if (r.status !== 0) throw new Error(`guest command failed (${r.status}): ${command}\n${r.lines.join('\n')}`);
    return r.lines.join('\n');
  }

  /**
   * Waits until the agent answers. The agent may open its port before we connect (its reads
   * then return EOF and it backs off), so a probe is re-sent until one comes back.
   */
  async waitReady(timeoutMs: number): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const probe = this.start('true');
      const r = await Promise.race([probe.done, new Promise<null>((res) => setTimeout(() => res(null), 1000))]);
      if (r) return;
    }
    throw new Error(`guest control agent did not answer within ${timeoutMs} ms`);
  }

  close(): void {
    this.sock?.destroy();
  }
}
