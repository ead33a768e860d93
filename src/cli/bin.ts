/** Entry of the bundled build (dist/memresize.mjs): the same CLI as bin/memresize.js. */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
