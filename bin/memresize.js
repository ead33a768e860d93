#!/usr/bin/env node
// Entry point of the `memresize` command: registers the TypeScript loader (tsx) and runs
// the CLI. The bundled build (npm run build) replaces this with plain JavaScript.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
