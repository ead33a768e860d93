/**
 * Renders the resize machine as the charts architects review: a Mermaid stateDiagram-v2
 * (renders on GitHub/GitLab) with a table of every transition and its description, and a
 * Graphviz DOT file. Generated from the machine definition, never drawn by hand
 * (npm run diagrams writes them, npm run diagrams:check fails when they are stale).
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

export interface ChartEdge {
  n: number;
  source: AnyStateNode;
  targets: AnyStateNode[];
  event: string;
  guard?: string;
  actions: string[];
  description?: string;
}

type GuardLike = string | { type?: string } | ((...a: unknown[]) => unknown) | undefined;

function guardName(g: GuardLike): string | undefined {
  if (g === undefined) return undefined;
  if (typeof g === 'string') return g;
  if (typeof g === 'function') {
    const fn = g as unknown as { check?: { name?: string }; guards?: GuardLike[] };
    const parts = (fn.guards ?? []).map(guardName);
    const op = fn.check?.name ?? '';
    if (op === 'checkNot') return `!${parts.join('')}`;
    if (op === 'checkOr') return parts.join(' || ');
    if (op === 'checkAnd') return parts.join(' && ');
    return 'guard';
  }
  return g.type ?? 'guard';
}

function actionName(a: unknown): string {
  if (typeof a === 'string') return a;
  if (a && typeof a === 'object' && 'type' in a) return String((a as { type: unknown }).type);
  return 'action';
}

/** `xstate.after.ackTimeout.resizer.x.y` -> `after ackTimeout`; `` (always) -> `always`. */
export function eventLabel(eventType: string): string {
  if (eventType.startsWith('xstate.after.')) return `after ${eventType.split('.')[2]}`;
  return eventType === '' ? 'always' : eventType;
}

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}

export function chartEdges(machine: AnyStateMachine): ChartEdge[] {
  const edges: ChartEdge[] = [];
  const push = (t: AnyTransitionDefinition) =>
    edges.push({
      n: edges.length + 1,
      source: t.source,
      targets: [...(t.target ?? [])],
      event: eventLabel(t.eventType),
      guard: guardName(t.guard as GuardLike),
      actions: t.actions.map(actionName),
      description: t.description,
    });
  for (const node of allNodes(machine.root)) {
    for (const [, list] of node.transitions) list.forEach(push);
    (node.always ?? []).forEach(push);
  }
  return edges;
}

const alias = (node: AnyStateNode) => node.path.length === 0 ? 'root' : node.path.join('_').replace(/-/g, '_');

function label(e: ChartEdge): string {
  return `${e.event}${e.guard ? ` [${e.guard}]` : ''} (${e.n})`;
}

function mermaidState(node: AnyStateNode, edges: ChartEdge[], indent: string, out: string[]): void {
  const children = Object.values(node.states);
  const id = alias(node);
  if (children.length === 0) {
    out.push(`${indent}state "${node.key}" as ${id}`);
    if (node.description) out.push(`${indent}${id} : ${node.description.replace(/[:;]/g, ',')}`);
    return;
  }
  out.push(`${indent}state "${node.key}" as ${id} {`);
  const initial = node.config.initial;
  if (typeof initial === 'string' && node.states[initial]) out.push(`${indent}  [*] --> ${alias(node.states[initial] as AnyStateNode)}`);
  for (const child of children) mermaidState(child, edges, indent + '  ', out);
  out.push(`${indent}}`);
}

/** The Mermaid chart plus a table of every transition: the markdown of diagrams/resizer.md. */
export function toMermaidMarkdown(machine: AnyStateMachine): string {
  const edges = chartEdges(machine);
  const lines: string[] = ['stateDiagram-v2'];
  const root = machine.root;
  if (typeof root.config.initial === 'string') lines.push(`  [*] --> ${alias(root.states[root.config.initial] as AnyStateNode)}`);
  for (const child of Object.values(root.states)) mermaidState(child, edges, '  ', lines);
  const anyState: string[] = [];
  for (const e of edges) {
    if (e.targets.length === 0) continue; // targetless updates are listed in the table only
    if (e.source === root) {
      anyState.push(`${label(e)} -> ${e.targets.map((t) => t.key).join(', ')}`);
      continue;
    }
    for (const t of e.targets) lines.push(`  ${alias(e.source)} --> ${alias(t)} : ${label(e)}`);
  }
  if (anyState.length > 0) lines.push(`  note right of connecting`, ...anyState.map((l) => `    from any state: ${l}`), '  end note');

  const table = [
    '| # | from | event | guard | to | actions | description |',
    '|---|---|---|---|---|---|---|',
    ...edges.map(
      (e) =>
        `| ${e.n} | ${e.source === root ? '(any)' : e.source.path.join('.')} | \`${e.event}\` | ${e.guard ? `\`${e.guard}\`` : ''} | ${
          e.targets.length ? e.targets.map((t) => t.path.join('.')).join(', ') : '(stays)'
        } | ${e.actions.join(', ')} | ${(e.description ?? '').replace(/\|/g, '\\|')} |`,
    ),
  ];
  const states = allNodes(root)
    .filter((n) => n !== root)
    .map((n) => `| ${n.path.join('.')} | ${(n.description ?? '').replace(/\|/g, '\\|')} |`);
  return [
    '# The resize machine',
    '',
    '<!-- Generated by `npm run diagrams` from src/machines/resizer.ts. Do not edit: `npm run diagrams:check` fails when this file is stale. -->',
    '',
    'Edges are labelled `event [guard] (n)`; `after X` is the named delay X (its value comes from config, see docs/config.md).',
    'Targetless transitions (context updates that keep the state) appear only in the table.',
    '',
    '```mermaid',
    ...lines,
    '```',
    '',
    '## States',
    '',
    '| state | meaning |',
    '|---|---|',
    ...states,
    '',
    '## Transitions',
    '',
    ...table,
    '',
  ].join('\n');
}

const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function dotState(node: AnyStateNode, indent: string, out: string[]): void {
  const children = Object.values(node.states);
  if (children.length === 0) {
    out.push(`${indent}${alias(node)} [label=${q(node.key)}, tooltip=${q(node.description ?? '')}];`);
    return;
  }
  out.push(`${indent}subgraph cluster_${alias(node)} {`, `${indent}  label=${q(node.key)};`, `${indent}  tooltip=${q(node.description ?? '')};`);
  out.push(`${indent}  ${alias(node)}__initial [shape=point, label=""];`);
  for (const child of children) dotState(child, indent + '  ', out);
  out.push(`${indent}}`);
}

/** Graphviz DOT of the machine: compound states as clusters, descriptions as edge tooltips. */
export function toDot(machine: AnyStateMachine): string {
  const edges = chartEdges(machine);
  const root = machine.root;
  const out = ['// Generated by `npm run diagrams` from src/machines/resizer.ts. Do not edit.', `digraph ${machine.id} {`, '  compound=true;', '  rankdir=LR;', '  node [shape=box, style=rounded];', '  __start [shape=point, label=""];', '  __any [shape=plaintext, label="any state"];'];
  for (const child of Object.values(root.states)) dotState(child, '  ', out);
  const leaf = (n: AnyStateNode): string => {
    const children = Object.values(n.states);
    return children.length === 0 ? alias(n) : `${alias(n)}__initial`;
  };
  if (typeof root.config.initial === 'string') out.push(`  __start -> ${alias(root.states[root.config.initial] as AnyStateNode)};`);
  for (const node of allNodes(root)) {
    const init = node.config.initial;
    if (node !== root && typeof init === 'string' && node.states[init]) out.push(`  ${alias(node)}__initial -> ${leaf(node.states[init] as AnyStateNode)};`);
  }
  for (const e of edges) {
    const from = e.source === root ? '__any' : leaf(e.source);
    const attrs = (extra = '') => `[label=${q(label(e) + (e.actions.length ? ` / ${e.actions.join(', ')}` : ''))}, tooltip=${q(e.description ?? '')}${extra}]`;
    if (e.targets.length === 0) {
      out.push(`  ${from} -> ${from} ${attrs(', style=dashed')};`);
      continue;
    }
    for (const t of e.targets) out.push(`  ${from} -> ${leaf(t)} ${attrs()};`);
  }
  out.push('}', '');
  return out.join('\n');
}
