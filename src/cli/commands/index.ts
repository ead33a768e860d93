/** Every subcommand of `memresize`, in the order --help lists them. One file each. */
import type { Command } from 'commander';
import { registerCheckConfig } from './check-config.ts';
import { registerDemo } from './demo.ts';
import { registerTrace } from './trace.ts';
import { registerStatus } from './status.ts';
import { registerGuest } from './guest.ts';
import { registerProbe } from './probe.ts';
import { registerHost } from './host.ts';
import { registerSim } from './sim.ts';
import { registerRecord } from './record.ts';
import { registerBench } from './bench.ts';

export type RegisterCommand = (program: Command, setExit: (code: number) => void) => Command;

export const commands: RegisterCommand[] = [registerDemo, registerCheckConfig, registerTrace, registerStatus, registerHost, registerGuest, registerProbe, registerSim, registerRecord, registerBench];
