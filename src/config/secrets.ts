import { CORE_SECRET_PATHS } from './sections.ts';
import { CONNECTOR_SECTIONS, connectorKinds, type ConnectorRegistry } from './schema.ts';
import { valueAt, type Path } from './data.ts';

/** Option names that are secrets whoever declares them: apiToken, webhookSecret, password, apiKey, … */
const SECRET_NAME = /(token|secret|password|passwd|passphrase|credentials?)$/i;
const KEY_NAME = /(^key|Key|[_-]key)$/;

/** Secrets shorter than this are not offered for log redaction: masking them would garble every log line. */
const MIN_REDACTABLE = 4;

export function isSecretName(key: string): boolean {
  return SECRET_NAME.test(key) || KEY_NAME.test(key);
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p);
}

/**
 * Whether the config value at `path` (of the merged, pre-validation data) is a secret: a key a
 * connector declares secret (dotted paths like `captcha.secret` cover everything below them),
 * a core secret, or an option named like one. Array items take their parent key's secrecy.
 */
export function isSecretPath(path: Path, data: unknown, registry: ConnectorRegistry): boolean {
  const keys = path.filter((k): k is string => typeof k === 'string');
  const last = keys[keys.length - 1];
  if (last !== undefined && isSecretName(last)) return true;
  if (CORE_SECRET_PATHS.some((p) => startsWith(keys, p))) return true;

  const [section] = keys;
  if (section === undefined || !(section in CONNECTOR_SECTIONS)) return false;
  const name = section as keyof typeof CONNECTOR_SECTIONS;
  const depth = CONNECTOR_SECTIONS[name].record ? 2 : 1;
  if (keys.length <= depth) return false;
  const entry = valueAt(data, keys.slice(0, depth));
  const kind = typeof entry === 'object' && entry !== null ? (entry as { kind?: unknown }).kind : undefined;
  const def = connectorKinds(registry, name).find((k) => k.kind === kind);
  const optionPath = keys.slice(depth);
  return (def?.secrets ?? []).some((s) => startsWith(optionPath, s.split('.')));
}

export function redactableSecrets(values: Iterable<string>): string[] {
  return [...new Set([...values].filter((v) => v.length >= MIN_REDACTABLE))];
}

/** Replaces every occurrence of a known secret value with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret containing a shorter one is masked whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length > 0) out = out.split(s).join('***');
  }
  return out;
}
