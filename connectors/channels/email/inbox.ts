import { setTimeout as delay } from 'node:timers/promises';
import { ImapFlow, type ImapFlowOptions, type SearchObject } from 'imapflow';
import type { KeyValueStore, Logger } from '../../../src/core/connector.ts';
import { pauseAfterFailure, PollerLifecycle, type Backoff } from '../../../src/kit/poller.ts';
import { CursorStore, type Cursor } from './cursor.ts';
import type { RawMail, Taken } from './ingest.ts';
import { imapTls, type MailLogin } from './login.ts';
import type { ImapOptions } from './options.ts';

/** Knobs that are sensible in production and only shortened by tests. */
export interface InboxTuning {
  /** Wait between reconnects: doubles from `initialMs` up to `maxMs`. */
  backoff: Backoff;
  /** Idle time before imapflow enters IDLE after our last command. */
  autoIdleDelayMs: number;
  /** A full check this often even without news from the server (a missed EXISTS costs no mail). */
  resyncMs: number;
  /** Messages whose sizes are asked for in one round trip. */
  batchSize: number;
}

export const INBOX_TUNING: InboxTuning = {
  backoff: { initialMs: 1000, maxMs: 60_000 },
  autoIdleDelayMs: 1000,
  resyncMs: 5 * 60_000,
  batchSize: 25,
};

/** How much of an oversize message is read: its headers and the start of its text. */
const PARTIAL_BYTES = 256 * 1024;

export interface InboxDeps {
  imap: ImapOptions;
  login: MailLogin;
  moveTo?: string;
  firstSync: 'unseen' | 'all';
  maxMessageBytes: number;
  kv: KeyValueStore;
  log: Logger;
  ingest(mail: RawMail): Promise<Taken>;
  tuning: InboxTuning;
  /** A rescan (the folder was rebuilt) reads mail of this long ago at the most. */
  rescanWithinMs: number;
}

/**
 * Watches one IMAP folder: connects, reads everything above the cursor, then waits in IDLE for
 * new mail. imapflow does not reconnect by itself, so a lost connection (server restart,
 * network, auth failure) is retried here with backoff, and the cursor makes up whatever
 * arrived meanwhile. A message is marked only after it was durably accepted.
 */
export class MailboxWatcher {
  readonly #deps: InboxDeps;
  readonly #cursors: CursorStore;
  readonly #life = new PollerLifecycle();
  #pending = false;
  #wake: (() => void) | undefined;
  #client: ImapFlow | undefined;

  constructor(deps: InboxDeps) {
    this.#deps = deps;
    this.#cursors = new CursorStore(deps.kv, deps.imap.mailbox);
  }

  start(): void {
    if (this.#life.running) return;
    this.#life.down('connecting');
    this.#life.start((signal) => this.#run(signal));
  }

  /** A sync in progress finishes its message; a connection that hangs is cut. */
  stop(): Promise<void> {
    return this.#life.stop({ graceMs: 5000, cut: () => this.#client?.close() });
  }

  status(): { ready: boolean; detail?: string } {
    return this.#life.status();
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let client: ImapFlow | undefined;
      try {
        const auth = await this.#deps.login.imapAuth();
        client = newClient(this.#deps, auth);
        this.#client = client;
        try {
          await this.#session(client, signal, () => (failures = 0));
        } catch (err) {
          if ((err as { authenticationFailed?: boolean }).authenticationFailed) this.#deps.login.imapRefused(auth);
          throw err;
        }
      } catch (err) {
        if (signal.aborted) break;
        const detail = describeImapError(err, this.#deps.imap, this.#deps.login.secrets);
        this.#life.down(detail);
        this.#deps.log.error({ failures: failures + 1, error: detail }, 'email: IMAP session failed; reconnecting');
      } finally {
        if (client) await closeClient(client, signal.aborted);
      }
      if (signal.aborted) break;
      failures += 1;
      await pauseAfterFailure(this.#deps.tuning.backoff, failures, signal);
    }
  }

  async #session(client: ImapFlow, signal: AbortSignal, synced: () => void): Promise<void> {
    const closed = new Promise<'closed'>((resolve) => client.once('close', () => resolve('closed')));
    // Without a listener an 'error' event would crash the process; the close that follows ends the session.
    client.on('error', (err: Error) => this.#deps.log.warn({ error: err.message }, 'email: IMAP connection error'));
    client.on('exists', () => this.#poke());
    // Stopping while still connecting (an unreachable server) must not wait for the connect timeout.
    const cut = () => !client.usable && client.close();
    signal.addEventListener('abort', cut, { once: true });
    try {
      await client.connect();
    } finally {
      signal.removeEventListener('abort', cut);
    }
    if (this.#deps.moveTo) await client.mailboxCreate(this.#deps.moveTo);

    while (!signal.aborted) {
      this.#pending = false;
      await this.#sync(client, signal);
      if (!this.#life.ready) this.#deps.log.info({ mailbox: this.#deps.imap.mailbox }, 'email: mailbox in sync; waiting for new mail');
      this.#life.up();
      synced();
      if (this.#pending) continue;
      const waiting = new AbortController();
      const woke = await Promise.race([
        closed,
        new Promise<'woken'>((resolve) => (this.#wake = () => resolve('woken'))),
        delay(this.#deps.tuning.resyncMs, 'timer' as const, { signal: AbortSignal.any([signal, waiting.signal]) })
          .catch(() => 'stopped' as const),
      ]).finally(() => waiting.abort());
      this.#wake = undefined;
      if (woke === 'closed') throw new Error('the IMAP server closed the connection');
    }
  }

  #poke(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /** Takes in everything the cursor has not seen; the folder lock is held only here and always released. */
  async #sync(client: ImapFlow, signal: AbortSignal): Promise<void> {
    const lock = await client.getMailboxLock(this.#deps.imap.mailbox);
    try {
      const box = client.mailbox;
      if (!box) throw new Error(`folder "${this.#deps.imap.mailbox}" could not be opened`);
      const cursor = await this.#position(String(box.uidValidity), box.uidNext - 1);
      const uids = await this.#candidates(client, cursor);
      for (let i = 0; i < uids.length && !signal.aborted; i += this.#deps.tuning.batchSize) {
        await this.#takeBatch(client, cursor, uids.slice(i, i + this.#deps.tuning.batchSize), signal);
      }
      if (cursor.pass && !signal.aborted) {
        cursor.lastUid = Math.max(cursor.lastUid, cursor.pass.top);
        this.#deps.log.info({ mailbox: this.#deps.imap.mailbox, pass: cursor.pass.kind, upTo: cursor.lastUid }, 'email: pass over the folder finished');
        delete cursor.pass;
        await this.#cursors.save(cursor);
      }
    } finally {
      lock.release();
    }
  }

  /** The cursor for this UIDVALIDITY: new on a first start, a rescan when the folder was rebuilt. */
  async #position(uidValidity: string, top: number): Promise<Cursor> {
    const stored = await this.#cursors.load();
    if (stored && stored.uidValidity === uidValidity) return stored;
    let cursor: Cursor;
    if (!stored) {
      cursor = { uidValidity, lastUid: 0, since: new Date().toISOString(), pass: { kind: this.#deps.firstSync, top } };
      this.#deps.log.info({ mailbox: this.#deps.imap.mailbox, firstSync: this.#deps.firstSync }, 'email: first start on this folder');
    } else {
      const horizon = new Date(Date.now() - this.#deps.rescanWithinMs).toISOString();
      cursor = { uidValidity, lastUid: 0, since: stored.since > horizon ? stored.since : horizon, pass: { kind: 'rescan', top } };
      this.#deps.log.warn(
        { mailbox: this.#deps.imap.mailbox, was: stored.uidValidity, now: uidValidity },
        'email: the folder UIDVALIDITY changed (rebuilt or migrated); rescanning it, mail taken before is skipped by Message-ID',
      );
    }
    await this.#cursors.save(cursor);
    return cursor;
  }

  async #candidates(client: ImapFlow, cursor: Cursor): Promise<number[]> {
    const from = cursor.lastUid + 1;
    let query: SearchObject;
    if (cursor.pass) {
      if (from > cursor.pass.top) return [];
      query = { uid: `${from}:${cursor.pass.top}` };
      if (cursor.pass.kind === 'unseen') query.seen = false;
      if (cursor.pass.kind === 'rescan') query.since = new Date(cursor.since);
    } else {
      query = { uid: `${from}:*` };
    }
    const found = await client.search(query, { uid: true });
    // `n:*` always matches the highest UID, even below n.
    return (found || []).filter((uid) => uid >= from).sort((a, b) => a - b);
  }

  async #takeBatch(client: ImapFlow, cursor: Cursor, uids: number[], signal: AbortSignal): Promise<void> {
    const metas = await client.fetchAll(uids.join(','), { uid: true, size: true, internalDate: true }, { uid: true });
    // INTERNALDATE has whole seconds.
    const since = Math.floor(Date.parse(cursor.since) / 1000) * 1000;
    for (const meta of metas.sort((a, b) => a.uid - b.uid)) {
      if (signal.aborted) return;
      const internalDate = meta.internalDate === undefined ? undefined : new Date(meta.internalDate);
      // SINCE is by day: what arrived earlier that day, before the gateway began reading, stays out.
      const older = cursor.pass?.kind === 'rescan' && internalDate !== undefined && internalDate.getTime() < since;
      if (older) this.#deps.log.debug({ uid: meta.uid }, 'email: rescan: older than the first start; left alone');
      else await this.#take(client, cursor, meta.uid, meta.size ?? 0, internalDate);
      cursor.lastUid = meta.uid;
      await this.#cursors.save(cursor);
    }
  }

  async #take(client: ImapFlow, cursor: Cursor, uid: number, size: number, internalDate: Date | undefined): Promise<void> {
    const truncated = size > this.#deps.maxMessageBytes;
    const msg = await client.fetchOne(String(uid), { uid: true, source: truncated ? { maxLength: PARTIAL_BYTES } : true }, { uid: true });
    if (!msg || !msg.source) {
      this.#deps.log.info({ uid }, 'email: message gone before it could be read (deleted meanwhile)');
      return;
    }
    const taken = await this.#deps.ingest({ uid, uidValidity: cursor.uidValidity, source: msg.source, internalDate, size, truncated });
    if (taken.kind === 'automated') {
      // Left unread in the folder: a person may look; it makes no ticket and gets no reply.
      if (taken.ownList) {
        this.#deps.log.warn({ uid, list: taken.ownList }, `email: mail came through the list ${taken.ownList}, which carries this mailbox's own address, and was skipped as list mail; if the support address is that list (a Google Group), add it to trustedLists`);
      } else {
        this.#deps.log.info({ uid, reason: taken.reason }, 'email: automated mail skipped');
      }
      return;
    }
    if (taken.kind === 'accepted') {
      this.#deps.log.info({ uid, conversation: taken.conversation, threadedBy: taken.how, duplicate: taken.duplicate }, 'email: message taken in');
    } else {
      this.#deps.log.debug({ uid }, 'email: message taken before; only marked');
    }
    if (this.#deps.moveTo) await client.messageMove(String(uid), this.#deps.moveTo, { uid: true });
    else await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
  }
}

function newClient(deps: InboxDeps, auth: NonNullable<ImapFlowOptions['auth']>): ImapFlow {
  const { imap, tuning } = deps;
  return new ImapFlow({
    host: imap.host,
    port: imap.port,
    ...imapTls(imap),
    auth,
    logger: false,
    autoIdleDelay: tuning.autoIdleDelayMs,
    // Restarting IDLE now and then keeps NAT and firewalls from silently dropping the connection.
    maxIdleTime: 4 * 60_000,
    connectionTimeout: 30_000,
    greetingTimeout: 16_000,
  });
}

async function closeClient(client: ImapFlow, graceful: boolean): Promise<void> {
  if (client.isClosed) return;
  if (graceful && client.usable) {
    await Promise.race([client.logout().catch(() => undefined), delay(2000)]);
  }
  client.close();
}

/** What went wrong, for the log, /readyz and `check`: never the password or token. */
export function describeImapError(err: unknown, imap: ImapOptions, secrets: readonly string[]): string {
  const e = err as { authenticationFailed?: boolean; tlsFailed?: boolean; responseText?: string; code?: string; message?: string };
  const where = `${imap.user}@${imap.host}:${imap.port}`;
  let text: string;
  if (e?.tlsFailed) {
    text = `IMAP ${where} offers no STARTTLS, so the login was not sent (it would travel in clear): use port 993 with secure: true, `
      + 'or set imap.allowInsecureAuth: true for a test server';
  } else if (e?.authenticationFailed) {
    text = `IMAP login failed for ${where}: ${e.responseText ?? 'authentication failed'}`;
  } else {
    text = `IMAP ${where}: ${e?.code ? `${e.code}: ` : ''}${e?.responseText ?? e?.message ?? String(err)}`;
  }
  return secrets.reduce((t, s) => t.split(s).join('***'), text);
}
