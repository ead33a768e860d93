/**
 * Builds dist/memresize.mjs: one self-contained ES module that runs with plain `node`
 * (no tsx, no node_modules). Native addons cannot be bundled: `epoll` (PSI trigger wake-ups)
 * and `koffi` (mlockall) stay external and are loaded at run time only if present; without
 * them the daemon falls back to polling and to the protection systemd gives it.
 */
import { build } from 'esbuild';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'memresize.mjs');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };

await mkdir(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'cli', 'bin.ts')],
  outfile,
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
