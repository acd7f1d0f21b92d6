import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Runtime } from '../runtime/runtime.ts';
import { secretMatches } from '../kit/inbound/secret-matches.ts';

export interface AdminDeps {
  token: string;
  runtime: Runtime;
  /** Evaluate the rules in force on a sample text, as `switchboard rules test` does. */
  testRules(input: RulesTestInput): unknown;
  extraRoutes?: (app: FastifyInstance) => void;
}

export const RulesTestInput = z.object({
  channel: z.string().min(1),
  text: z.string(),
  first: z.boolean().default(true),
  sender: z.record(z.string(), z.string()).optional(),
  form: z.record(z.string(), z.string()).optional(),
});
export type RulesTestInput = z.infer<typeof RulesTestInput>;

/** `/admin/*`: dead letters and rule checks, behind a bearer token. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  void app.register(async (admin) => {
    admin.addHook('onRequest', async (req, reply) => {
      const header = req.headers.authorization ?? '';
      const presented = header.startsWith('Bearer ') ? header.slice(7) : undefined;
      if (!secretMatches(presented, deps.token)) {
        return reply.status(401).send({ error: 'unauthorized', message: 'send Authorization: Bearer <server.adminToken>' });
      }
    });

    admin.get('/admin/dlq', async (req) => {
      const limit = Number((req.query as { limit?: string }).limit ?? 100);
      return { items: await deps.runtime.dlq.list({ limit: Number.isFinite(limit) ? limit : 100 }) };
    });
    admin.get<{ Params: { id: string } }>('/admin/dlq/:id', async (req, reply) => {
      const item = await deps.runtime.dlq.get(req.params.id);
      return item ?? reply.status(404).send({ error: 'not_found', message: `no dead letter ${req.params.id}` });
    });
    admin.post<{ Params: { id: string } }>('/admin/dlq/:id/replay', async (req, reply) => {
      const n = await deps.runtime.dlq.replay(req.params.id);
      if (n === 0 && req.params.id !== 'all') return reply.status(404).send({ error: 'not_found', message: `no dead letter ${req.params.id}` });
      return { replayed: n };
    });
    admin.delete<{ Params: { id: string } }>('/admin/dlq/:id', async (req, reply) => {
      const n = await deps.runtime.dlq.drop(req.params.id);
      if (n === 0 && req.params.id !== 'all') return reply.status(404).send({ error: 'not_found', message: `no dead letter ${req.params.id}` });
      return { dropped: n };
    });
    admin.get('/admin/status', async () => deps.runtime.stats());
    admin.post('/admin/rules/test', async (req, reply) => {
      const parsed = RulesTestInput.safeParse(req.body);
      if (!parsed.success) {
        return reply.status(400).send({ error: 'validation_failed', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
      }
      return deps.testRules(parsed.data);
    });
    deps.extraRoutes?.(admin);
  });
}
