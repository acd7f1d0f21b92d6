import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, type Node, type Scalar } from 'yaml';
import type { Path } from './data.ts';
import { positionOf, type Position, type Source } from './source.ts';

/**
 * `${NAME}`, `${NAME:-default}` and `${file:path}` in scalar values. It runs on the parsed
 * document, so a substituted value is always one scalar and can never add YAML structure.
 * `$${` writes a literal `${`.
 */

export interface Substitution {
  /** Path of the scalar inside its own file. */
  path: Path;
  value: string;
  /** Written unquoted: the result is read as YAML would read it (number, boolean, empty = absent) where the schema wants that. */
  plain: boolean;
}

export interface InterpolationIssue {
  path: Path;
  position: Position;
  message: string;
}

export interface Interpolated {
  substitutions: Substitution[];
  issues: InterpolationIssue[];
}

const REFERENCE = /\$\$\{|\$\{([^{}]*)\}|\$\{/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

interface Found {
  node: Scalar<string>;
  path: Path;
}

function collect(node: Node | null, at: Path, out: Found[]): void {
  if (node === null) return;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key)) collect(pair.value as Node | null, [...at, String(pair.key.value)], out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => collect(item as Node | null, [...at, i], out));
  } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    out.push({ node: node as Scalar<string>, path: at });
  }
}

async function resolveReference(inner: string, dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (inner.startsWith('file:')) {
    const file = inner.slice('file:'.length).trim();
    if (file === '') throw new Error('${file:…} needs a path');
    try {
      const text = await readFile(path.resolve(dir, file), 'utf8');
      return text.replace(/(\r?\n)+$/, '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new Error(`cannot read file '${file}' (\${file:${file}}): ${code}`, { cause: err });
    }
  }
  const m = VARIABLE.exec(inner);
  if (m === null) {
    throw new Error(`invalid reference '\${${inner}}': write \${NAME}, \${NAME:-default} or \${file:path}`);
  }
  const [, name = '', fallback] = m;
  const value = env[name];
  if (fallback !== undefined && (value === undefined || value === '')) return fallback;
  if (value === undefined) {
    throw new Error(`environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
  }
  return value;
}

async function expand(text: string, dir: string, env: NodeJS.ProcessEnv): Promise<{ value: string; errors: string[] }> {
  const errors: string[] = [];
  let value = '';
  let last = 0;
  for (const m of text.matchAll(REFERENCE)) {
    value += text.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === '$${') {
      value += '${';
    } else if (m[1] === undefined) {
      errors.push("unterminated '${' (write '$${' for a literal '${')");
    } else {
      try {
        value += await resolveReference(m[1], dir, env);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  }
  return { value: value + text.slice(last), errors };
}

/** Substitutes in place in `source.doc`; reports what it substituted and what it could not. */
export async function interpolate(source: Source, env: NodeJS.ProcessEnv): Promise<Interpolated> {
  const found: Found[] = [];
  collect(source.doc.contents as Node | null, [], found);
  const dir = path.dirname(source.file);
  const result: Interpolated = { substitutions: [], issues: [] };
  for (const { node, path: at } of found) {
    const { value, errors } = await expand(node.value, dir, env);
    const position = positionOf(source, node.range?.[0] ?? 0);
    for (const message of errors) result.issues.push({ path: at, position, message });
    if (errors.length === 0) {
      node.value = value;
      result.substitutions.push({ path: at, value, plain: node.type === 'PLAIN' });
    }
  }
  return result;
}
