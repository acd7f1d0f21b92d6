import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The lint rule that keeps the layout's layers is what fails CI on a sibling-connector import. */
const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return result!.messages.filter((m) => m.ruleId === 'switchboard/import-layers').map((m) => m.message);
}

describe('import layers (eslint switchboard/import-layers)', () => {
  it('refuses a connector importing a sibling connector, the registry or the runtime', async () => {
    expect(await problems('connectors/channels/cti/x.ts', "import { definition } from '../webhook/index.ts';\nexport const d = definition;\n"))
      .toEqual([expect.stringContaining('../webhook/index.ts is connectors/channels/webhook/index.ts')]);
    expect(await problems('connectors/notifiers/slack/x.ts', "export * from '../../helpdesks/zendesk/errors.ts';\n")).toHaveLength(1);
    expect(await problems('connectors/helpdesks/zendesk/x.ts', "export const r = import('../../../src/runtime/log.ts');\n")).toHaveLength(1);
  });

  it('refuses src/core importing the kit, a runtime, the HTTP layer or a connector, and the kit importing a connector', async () => {
    const core = await problems('src/core/x.ts', [
      "import '../kit/keyed-lock.ts';",
      "import '../runtime/log.ts';",
      "import '../http/app.ts';",
      "import '../../connectors/registry.ts';",
    ].join('\n'));
    expect(core).toHaveLength(4);
    expect(await problems('src/kit/inbound/x.ts', "import '../../../connectors/channels/telegram/index.ts';\n")).toHaveLength(1);
  });

  it('lets a connector import its own folder, src/core and src/kit, and packages', async () => {
    expect(await problems('connectors/channels/cti/x.ts', [
      "import { z } from 'zod';",
      "import { CtiOptions } from './options.ts';",
      "import { DeliveryError } from '../../../src/core/errors.ts';",
      "import { KeyedLock } from '../../../src/kit/keyed-lock.ts';",
      'export const all = [z, CtiOptions, DeliveryError, KeyedLock];',
    ].join('\n'))).toEqual([]);
  });
});
