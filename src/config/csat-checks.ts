import type { CheckResult } from './checks.ts';
import { isRecord, type Path } from './data.ts';
import { hint } from './issues.ts';
import type { ConnectorRegistry } from './schema.ts';
import type { LocatedMessage } from './zod-issues.ts';

/**
 * What the `csat:` section names must exist and fit: listed channels are configured and can reach
 * the customer (or name an email channel to go `via`), and email links have a secret to sign
 * them and a public address to point at.
 */
export function checkCsat(merged: Record<string, unknown>, registry: ConnectorRegistry): CheckResult {
  const out: CheckResult = { errors: [], warnings: [] };
  const csat = merged.csat;
  if (!isRecord(csat) || !isRecord(csat.channels)) return out;
  const err = (path: Path, message: string): LocatedMessage => ({ path, at: 'value', message });
  const configured = isRecord(merged.channels) ? merged.channels : {};
  const ids = Object.keys(configured);
  const definition = (id: string) => {
    const entry = configured[id];
    return isRecord(entry) ? registry.channels.find((d) => d.kind === entry.kind) : undefined;
  };
  let needsLinks = false;
  for (const [id, settings] of Object.entries(csat.channels)) {
    const at: Path = ['csat', 'channels', id];
    if (!Object.hasOwn(configured, id)) {
      out.errors.push({ path: at, at: 'key', message: `no channel '${id}' is configured; ${hint(id, ids, 'configured channels')}` });
      continue;
    }
    const via = isRecord(settings) && typeof settings.via === 'string' ? settings.via : undefined;
    if (via !== undefined) {
      if (!Object.hasOwn(configured, via)) {
        out.errors.push(err([...at, 'via'], `no channel '${via}' is configured; ${hint(via, ids, 'configured channels')}`));
        continue;
      }
      if (definition(via)?.medium !== 'email') out.errors.push(err([...at, 'via'], `'${via}' is not an email channel; via names the email channel that writes to the customer`));
      needsLinks = true;
      continue;
    }
    const def = definition(id);
    if (def && def.sends.length === 0) {
      out.errors.push(err(at, `channel '${id}' (${def.kind}) cannot write to the customer; add via: <an email channel> to ask by email`));
    }
    if (def?.medium === 'email') needsLinks = true;
  }
  if (needsLinks) {
    if (typeof csat.linkSecret !== 'string') {
      out.errors.push({ path: ['csat'], at: 'key', message: 'an email channel asks with rating links: set csat.linkSecret (at least 32 random characters, e.g. ${CSAT_LINK_SECRET})' });
    }
    const server = merged.server;
    if (!isRecord(server) || typeof server.publicUrl !== 'string') {
      out.errors.push({ path: ['csat'], at: 'key', message: 'the rating links in emails point at this gateway: set server.publicUrl' });
    }
  }
  const helpdesk = merged.helpdesk;
  const fields = isRecord(helpdesk) && isRecord(helpdesk.fields) ? Object.keys(helpdesk.fields) : [];
  if (typeof csat.field === 'string' && fields.length > 0 && !fields.includes(csat.field)) {
    out.warnings.push(err(['csat', 'field'], `field '${csat.field}' is not mapped in helpdesk.fields, so the score cannot be set; ${hint(csat.field, fields, 'mapped fields')}`));
  }
  return out;
}
