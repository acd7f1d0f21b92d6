/** Reading and writing plain parsed YAML data by key path. */

export type Path = readonly PropertyKey[];
export type Data = Record<string, unknown>;

export function isRecord(v: unknown): v is Data {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function startsWith(p: Path, prefix: Path): boolean {
  return prefix.length <= p.length && prefix.every((k, i) => p[i] === k);
}

export function valueAt(data: unknown, path: Path): unknown {
  let value = data;
  for (const key of path) {
    if (!isRecord(value) && !Array.isArray(value)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Sets the value at `path` (its parent must exist); `undefined` removes a mapping key. */
export function setAt(data: unknown, path: Path, value: unknown): void {
  const parent = valueAt(data, path.slice(0, -1));
  const key = path[path.length - 1];
  if (key === undefined || !(isRecord(parent) || Array.isArray(parent))) return;
  if (value === undefined && isRecord(parent)) delete parent[key as string];
  else (parent as Record<PropertyKey, unknown>)[key] = value;
}

/** Every string in `data` with its path. */
export function stringLeaves(data: unknown, at: Path = []): { path: Path; value: string }[] {
  if (typeof data === 'string') return [{ path: at, value: data }];
  if (Array.isArray(data)) return data.flatMap((v, i) => stringLeaves(v, [...at, i]));
  if (isRecord(data)) return Object.entries(data).flatMap(([k, v]) => stringLeaves(v, [...at, k]));
  return [];
}
