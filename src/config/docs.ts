/**
 * Renders docs/config.md from the zod schemas (via zod's JSON Schema export), so the
 * documented names, defaults and ranges can never drift from what is validated.
 */
import { z } from 'zod';
import { formatBytes } from './units.ts';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function typeOf(s: JsonSchema, key: string): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    const types = alts.map((a) => typeOf(a, key));
    if (key.endsWith('Bytes') && types.includes('integer')) return 'bytes (integer or size such as `128MiB`)';
    return types.join(' or ');
  }
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items, key) : 'values'}`;
  return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
}

function range(s: JsonSchema, key: string): string {
  const fmt = (n: number) => (key.endsWith('Bytes') ? formatBytes(n) : String(n));
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum !== undefined && s.maximum < MAX_SAFE ? s.maximum : undefined;
  if (lo !== undefined && hi !== undefined) return `${fmt(lo)} .. ${fmt(hi)}`;
  if (lo !== undefined) return `>= ${fmt(lo)}`;
  if (hi !== undefined) return `<= ${fmt(hi)}`;
  return '';
}

/** Defaults come from parsing an empty config: the JSON Schema loses them on transformed fields. */
function defaultOf(defaults: unknown, path: string[], key: string): string {
  const value = path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), defaults);
  if (value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value))) return '';
  if (typeof value === 'number' && key.endsWith('Bytes')) return formatBytes(value);
  return `\`${JSON.stringify(value)}\``;
}

function rows(s: JsonSchema, path: string[], out: string[], defaults: unknown): void {
  for (const [key, prop] of Object.entries(s.properties ?? {})) {
    const here = [...path, key];
    if (prop.properties && !prop.anyOf) {
      rows(prop, here, out, defaults);
      continue;
    }
    const numeric = prop.anyOf?.find((a) => a.type === 'integer' || a.type === 'number') ?? prop;
    out.push(`| \`${here.join('.')}\` | ${typeOf(prop, key)} | ${defaultOf(defaults, here, key)} | ${range(numeric, key)} | ${(prop.description ?? '').replace(/\|/g, '\\|')} |`);
  }
}

export function configDocSection(title: string, intro: string, schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = [`## ${title}`, '', intro, '', '| key | type | default | range | meaning |', '|---|---|---|---|---|'];
  const parsed = schema.safeParse({});
  rows(json, [], out, parsed.success ? parsed.data : undefined);
  return out.join('\n');
}
