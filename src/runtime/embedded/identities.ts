import type { DatabaseSync } from 'node:sqlite';
import type { Customer, CustomerChange, IdentityStore } from '../../core/identity/customer.ts';

/**
 * Customers and the identifier → customer index in the embedded store's database. A commit is
 * one transaction that first checks the versions it was planned on (and that identifiers read as
 * nobody's still are); the group-committed writes
 * of the rest of the store run in their own transactions, never interleaved with this one (both
 * run synchronously on the one connection).
 */
export function createEmbeddedIdentities(db: DatabaseSync): IdentityStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS identifiers (identifier TEXT PRIMARY KEY, customer_id TEXT NOT NULL);
  `);
  const stmt = {
    owner: db.prepare('SELECT customer_id FROM identifiers WHERE identifier = ?'),
    get: db.prepare('SELECT version, data FROM customers WHERE id = ?'),
    put: db.prepare('INSERT INTO customers (id, version, data) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data'),
    remove: db.prepare('DELETE FROM customers WHERE id = ?'),
    point: db.prepare('INSERT INTO identifiers (identifier, customer_id) VALUES (?, ?) ON CONFLICT (identifier) DO UPDATE SET customer_id = excluded.customer_id'),
  };
  const read = (id: string): Customer | undefined => {
    const row = stmt.get.get(id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Customer) : undefined;
  };
  return {
    async find(identifiers) {
      const ids = new Set<string>();
      for (const i of identifiers) {
        const row = stmt.owner.get(i) as { customer_id: string } | undefined;
        if (row) ids.add(row.customer_id);
      }
      return [...ids].flatMap((id) => read(id) ?? []);
    },
    async commit(change: CustomerChange) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const moved = change.expected.some((e) => (stmt.get.get(e.id) as { version: number } | undefined)?.version !== e.version);
        if (moved || (change.unowned ?? []).some((i) => stmt.owner.get(i) !== undefined)) {
          db.exec('ROLLBACK');
          return false;
        }
        for (const c of change.put) {
          stmt.put.run(c.id, c.version, JSON.stringify(c));
          for (const i of c.identifiers) stmt.point.run(i, c.id);
        }
        for (const id of change.remove) stmt.remove.run(id);
        db.exec('COMMIT');
        return true;
      } catch (err) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // the failed statement may have ended the transaction already
        }
        throw err;
      }
    },
  };
}
