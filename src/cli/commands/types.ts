import type { Command } from 'commander';

export type RegisterCommand = (program: Command, setExit: (code: number) => void) => Command;

export interface LazyCommand {
  /** Must equal the name the module registers (a test holds this). */
  name: string;
  load(): Promise<RegisterCommand>;
}
