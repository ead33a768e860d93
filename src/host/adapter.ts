/**
 * What the host agent needs from a hypervisor: read the virtio-mem device and set its
 * requested size. Implementations: qemu-qmp.ts (real QEMU over QMP) and fake.ts (tests and
 * the simulator, on an injected clock). Adapters report results as values; they never throw
 * into the agent.
 */
export interface DeviceState {
  /** The device's requested-size: what the guest driver is told to reach. */
  requestedBytes: number;
  /** The device's size: what the guest has actually plugged. */
  pluggedBytes: number;
  blockBytes: number;
  /** The memory backend's size: the most the device can ever plug. */
  maxBytes: number;
}

export interface ResizeResult {
  status: 'complete' | 'partial' | 'failed';
  pluggedBytes: number;
  /** A newer resize replaced this one before it finished. */
  superseded?: boolean;
  error?: string;
}

export interface ResizeAdapter {
  readonly kind: string;
  /** Connect (QMP) or initialise; resolves once, even if the hypervisor is not up yet. */
  start(): Promise<void>;
  /** Last known device state; null while the hypervisor is unreachable. */
  state(): DeviceState | null;
  /**
   * Set the requested size (already aligned and bounded by the agent) and wait until the
   * device reaches it or the adapter's deadline passes. A newer call supersedes this one.
   * Setting the same size again makes a guest retry a stuck unplug.
   */
  resize(targetBytes: number): Promise<ResizeResult>;
  /**
   * Optional callback form of resize: the result is delivered from the adapter's own
   * timer, not a microtask, so a simulator stepping a virtual clock synchronously sees
   * `done` at the virtual time it happened. The agent prefers it when present.
   */
  resizeWithCallback?(targetBytes: number, onResult: (r: ResizeResult) => void): void;
  /** Called when availability or the device state changes (connect, restart, progress). */
  onChange(fn: (state: DeviceState | null) => void): void;
  close(): Promise<void>;
}
