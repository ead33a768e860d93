/**
 * Entry of the guest bundle (dist/memresize-guest.mjs): only what a guest image runs
 * (guest, status, probe, check-config). It imports guestCommands alone, so esbuild leaves
 * the host agent, the simulator and the charting libraries out, and the daemon's memory
 * stays small (figures in docs/operations.md).
 */
import { guestCommands } from './commands/guest-commands.ts';
import { runProgram } from './program.ts';

process.exitCode = await runProgram(process.argv.slice(2), guestCommands);
