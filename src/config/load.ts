/**
 * Loading config files: YAML or JSON (YAML is a superset), validated by the one schema.
 * Errors come back as values listing every problem with its path; nothing throws.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export type LoadResult<T> = { ok: true; config: T } | { ok: false; errors: string };

export function validate<S extends z.ZodType>(schema: S, raw: unknown): LoadResult<z.output<S>> {
  const res = schema.safeParse(raw ?? {});
  return res.success ? { ok: true, config: res.data } : { ok: false, errors: z.prettifyError(res.error) };
}

export function parseConfigText<S extends z.ZodType>(schema: S, text: string, file = '<config>'): LoadResult<z.output<S>> {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    return { ok: false, errors: `✖ ${file}: not valid YAML/JSON: ${(err as Error).message}` };
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    return { ok: false, errors: `✖ ${file}: the top level must be a mapping of sections` };
  }
  return validate(schema, raw);
}

export async function loadConfigFile<S extends z.ZodType>(schema: S, file: string): Promise<LoadResult<z.output<S>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: `✖ ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return parseConfigText(schema, text, file);
}
