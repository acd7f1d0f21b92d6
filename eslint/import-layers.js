import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: paths in the options are relative to it. */
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * The folder layout is the architecture: a file may import from its own home folder and from
 * the folders its layer is allowed (connectors: src/core and src/kit, never a sibling
 * connector; src/kit: src/core; src/core: nothing outside itself). Relative imports are
 * resolved against the file, so `../webhook/auth.ts` and `../../../connectors/…` are caught alike.
 *
 * Options: `home`, how many leading path segments of the file make its home folder
 * (2 for src/core, 3 for connectors/channels/telegram); `may`, folders (from the repo root)
 * it may import besides its home.
 */
export const importLayers = {
  meta: {
    type: 'problem',
    docs: { description: 'keep imports within the layers of the folder layout' },
    schema: [{
      type: 'object',
      properties: { home: { type: 'integer', minimum: 1 }, may: { type: 'array', items: { type: 'string' } } },
      required: ['home', 'may'],
      additionalProperties: false,
    }],
    messages: {
      outside: '{{file}} may import only {{allowed}}; {{spec}} is {{target}}. Code several connectors share goes to src/kit (docs/adding-a-channel.md).',
    },
  },
  create(context) {
    const { home, may } = context.options[0];
    const file = path.relative(root, context.filename).split(path.sep).join('/');
    const homeDir = file.split('/').slice(0, home).join('/');
    const allowed = [homeDir, ...may];
    const check = (node) => {
      const spec = node.source?.type === 'Literal' ? node.source.value : undefined;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (allowed.some((dir) => target === dir || target.startsWith(`${dir}/`))) return;
      context.report({ node: node.source, messageId: 'outside', data: { file: homeDir, allowed: allowed.join(', '), spec, target } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};
