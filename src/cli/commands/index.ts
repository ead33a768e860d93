/** Every subcommand of `memresize`, in the order --help lists them. One file each. */
import type { Command } from 'commander';
import { registerCheckConfig } from './check-config.ts';
import { registerDemo } from './demo.ts';
import { registerTrace } from './trace.ts';
import { registerStatus } from './status.ts';

export type RegisterCommand = (program: Command, setExit: (code: number) => void) => Command;

export const commands: RegisterCommand[] = [registerDemo, registerCheckConfig, registerTrace, registerStatus];
