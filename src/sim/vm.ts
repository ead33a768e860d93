/**
 * One simulated VM: its guest memory, PSI, virtio-mem device, metrics and the policy that
 * drives it, advanced one tick at a time by a run loop (run.ts for one VM, fleet.ts for
 * several on one host agent). The daemon sees only what the real one would see (samples,
 * trigger events, host messages), never the ticks themselves.
 */
import type { GuestConfig } from '../config/schema.ts';
import type { Logger } from '../io/log.ts';
import type { TransitionRecord } from '../io/transition-trace.ts';
import type { VirtualClock } from './clock.ts';
import { defaultDevice } from './scenarios.ts';
import { SimDevice, type DeviceParams } from './device.ts';
import { defaultGuestParams, GuestModel, type GuestParams } from './guest.ts';
import type { HostCounters, SimHost } from './host.ts';
import { MetricsRecorder, oracleVmBytes, type RunMetrics } from './metrics.ts';
import { PsiModel } from './psi.ts';
import type { Policy, PolicyRun } from './policies/types.ts';
import type { Workload } from './workload.ts';

export interface SeriesPoint {
  tS: number;
  demandBytes: number;
  oracleBytes: number;
  vmBytes: number;
  psiSomeAvg10: number;
}

export interface VmShape {
  /** Boot RAM. */
  bootBytes: number;
  /** The most the virtio-mem device may plug (the VM's max is boot + this). */
  maxBytes: number;
  guest?: Partial<GuestParams>;
  device?: Partial<DeviceParams>;
}

export interface VmStart {
  clock: VirtualClock;
  host: SimHost;
  log: Logger;
  config: GuestConfig;
  onTransition?: (rec: TransitionRecord) => void;
}

export class SimVm {
  readonly guest: GuestModel;
  readonly psi: PsiModel;
  readonly device: SimDevice;
  readonly metrics: MetricsRecorder;
  readonly maxVmBytes: number;
  private readonly listeners: ((nowMs: number) => void)[] = [];
  private run: PolicyRun | null = null;

  constructor(
    readonly shape: VmShape,
    workload: Workload,
    tickMs: number,
  ) {
    this.guest = new GuestModel(defaultGuestParams(shape.bootBytes, shape.guest), workload);
    // The workload is already running when the daemon starts: settle its memory first.
    this.guest.tick(0, 0);
    this.psi = new PsiModel(tickMs);
    this.device = new SimDevice(defaultDevice(shape.maxBytes, shape.device));
    this.maxVmBytes = shape.bootBytes + shape.maxBytes;
    this.metrics = new MetricsRecorder(this.guest, this.maxVmBytes, this.device.p.blockBytes);
  }

  start(policy: Policy, env: VmStart): void {
    this.run = policy.start({
      ...env,
      guest: this.guest,
      psi: this.psi,
      bootBytes: this.shape.bootBytes,
      maxBytes: this.shape.maxBytes,
      blockBytes: this.device.p.blockBytes,
      onTick: (fn) => this.listeners.push(fn),
    });
  }

  /** Device, guest, PSI and metrics move to t; then the policy's tick listeners run. */
  step(nowMs: number, tickMs: number): void {
    const plugged = this.device.tick(nowMs, tickMs, this.guest.unplugFloorBytes());
    if (plugged !== this.guest.pluggedBytes) this.guest.setPlugged(plugged);
    this.guest.tick(nowMs, tickMs);
    this.psi.tick(nowMs, this.guest.some, this.guest.full);
    this.metrics.tick(nowMs, tickMs, this.device.requestedBytes);
    for (const fn of this.listeners) fn(nowMs);
  }

  point(nowMs: number): SeriesPoint {
    const d = this.guest.demand;
    return {
      tS: nowMs / 1000,
      demandBytes: d.anonBytes + d.fileBytes,
      oracleBytes: oracleVmBytes(this.guest, this.maxVmBytes, this.device.p.blockBytes).bytes,
      vmBytes: this.shape.bootBytes + this.guest.pluggedBytes,
      psiSomeAvg10: this.psi.avgSome[0]!,
    };
  }

  stop(): void {
    this.run?.stop();
  }

  result(counters: HostCounters): RunMetrics {
    return this.metrics.result(counters);
  }
}
