/**
 * Writes diagrams/resizer.md (Mermaid + transition table) and diagrams/resizer.dot from
 * the machine. With --check, writes nothing and exits 1 when the committed files differ.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resizerMachine } from '../src/machines/resizer.ts';
import { toDot, toMermaidMarkdown } from '../src/machines/chart-export.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files: Record<string, string> = {
  'diagrams/resizer.md': toMermaidMarkdown(resizerMachine),
  'diagrams/resizer.dot': toDot(resizerMachine),
};

const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, text] of Object.entries(files)) {
  const path = join(root, rel);
  if (check) {
    const have = await readFile(path, 'utf8').catch(() => '');
    if (have !== text) {
      stale++;
      console.error(`${rel} is stale: run npm run diagrams and commit the result`);
    }
  } else {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    console.log(`wrote ${rel}`);
  }
}
if (check && stale === 0) console.log('diagrams are up to date');
process.exitCode = stale ? 1 : 0;
