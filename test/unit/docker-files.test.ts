import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * Docker cannot run on the machines that test this project, so what the image must have is
 * checked in its files: an init as PID 1, no browser download at install, a Chromium variant.
 */
const read = (name: string) => readFile(new URL(`../../${name}`, import.meta.url), 'utf8');

/** The Dockerfile's stages: name → its lines. */
function stages(dockerfile: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] = [];
  let n = 0;
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.set(from[1] ?? `#${n++}`, (current = []));
    if (!line.startsWith('#')) current.push(line);
  }
  return out;
}

describe('Docker files', () => {
  it('the deps stage has what npm ci reads: the lock, .npmrc and .puppeteerrc.cjs (no browser download)', async () => {
    const deps = stages(await read('Dockerfile')).get('deps')!.join('\n');
    expect(deps).toMatch(/COPY package\.json package-lock\.json \.npmrc \.puppeteerrc\.cjs \.\//);
    expect(await read('.puppeteerrc.cjs')).toMatch(/skipDownload:\s*true/);
  });

  it('the default target is the gateway without a browser; the whatsapp-web target adds Chromium and tini', async () => {
    const all = stages(await read('Dockerfile'));
    const names = [...all.keys()];
    expect(all.get(names.at(-1)!)!.join('\n')).toMatch(/^FROM runtime\s*$/m);
    const web = all.get('whatsapp-web')!.join('\n');
    expect(web).toMatch(/apt-get install[^\n]*\bchromium\b[^\n]*\btini\b/);
    expect(web).toMatch(/ENTRYPOINT \["\/usr\/bin\/tini", "--"/);
    expect(all.get('runtime')!.join('\n')).not.toMatch(/chromium/i);
  });

  it('compose runs every gateway service with an init as PID 1, and .env stays out of the build context', async () => {
    const compose = parse(await read('docker-compose.yml'), { merge: true }) as { services: Record<string, { init?: boolean; image?: string }> };
    const gateways = Object.entries(compose.services).filter(([, s]) => s.image === 'switchboard:local');
    expect(gateways.map(([name]) => name)).toEqual(['ingress', 'worker']);
    for (const [, service] of gateways) expect(service.init).toBe(true);
    expect((await read('.dockerignore')).split('\n')).toContain('.env');
  });
});
