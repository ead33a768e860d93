/**
 * The config file a command starts from: a file that does not load is reported on stderr
 * with every problem, and the command exits 2 without starting anything.
 */
import type { z } from 'zod';
import { loadConfigFile } from '../../config/load.ts';

export const EXIT_BAD_CONFIG = 2;

/** The validated config, or undefined once the problems are printed and the exit code set. */
export async function loadStartupConfig<S extends z.ZodType>(schema: S, file: string, kind: 'guest' | 'host', setExit: (code: number) => void): Promise<z.output<S> | undefined> {
  const res = await loadConfigFile(schema, file);
  if (res.ok) return res.config;
  process.stderr.write(`${file}: invalid ${kind} config\n${res.errors}\n`);
  setExit(EXIT_BAD_CONFIG);
  return undefined;
}
