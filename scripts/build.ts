/**
 * Builds two self-contained ES modules that run with plain `node` (no tsx, no node_modules):
 * dist/memresize.mjs, the whole CLI, and dist/memresize-guest.mjs, what a guest image needs
 * (guest, status, probe, check-config), small enough that the daemon's RSS stays low. Native addons cannot be bundled: `epoll` (PSI trigger wake-ups)
 * and `koffi` (mlockall) stay external and are loaded at run time only if present; without
 * them the daemon falls back to polling and to the protection systemd gives it.
 */
import { build } from 'esbuild';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
const bundles = [
  { entry: join(root, 'src', 'cli', 'bin.ts'), outfile: join(root, 'dist', 'memresize.mjs') },
  { entry: join(root, 'src', 'cli', 'guest-bin.ts'), outfile: join(root, 'dist', 'memresize-guest.mjs') },
];

for (const { entry, outfile } of bundles) {
  await mkdir(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['epoll', 'koffi'],
    // Bundled CommonJS code (pino, commander, vega) still calls require() for node builtins.
    banner: {
      js: [
        '#!/usr/bin/env node',
        "import { createRequire as __memresizeCreateRequire } from 'node:module';",
        'const require = __memresizeCreateRequire(import.meta.url);',
      ].join('\n'),
    },
    define: { 'process.env.MEMRESIZE_VERSION': JSON.stringify(pkg.version) },
    legalComments: 'none',
    logLevel: 'warning',
  });
  await chmod(outfile, 0o755);
  const { size } = await stat(outfile);
  console.log(`wrote ${outfile} (${(size / 2 ** 20).toFixed(1)} MiB)`);
}
