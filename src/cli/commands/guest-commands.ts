import type { LazyCommand } from './types.ts';

/**
 * What a guest image needs: the daemon and the tools to inspect it. The guest bundle
 * (dist/memresize-guest.mjs, src/cli/guest-bin.ts) contains these modules only.
 */
export const guestCommands: LazyCommand[] = [
  { name: 'guest', load: async () => (await import('./guest.ts')).registerGuest },
  { name: 'status', load: async () => (await import('./status.ts')).registerStatus },
  { name: 'probe', load: async () => (await import('./probe.ts')).registerProbe },
  { name: 'check-config', load: async () => (await import('./check-config.ts')).registerCheckConfig },
];

