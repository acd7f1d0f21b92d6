import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort } from '../e2e/harness.ts';

/**
 * A real Dovecot IMAP server for the tests: Debian's binary, our own config in a temp folder
 * (mail store, sockets, state, log), one passwd-file user, plaintext login on 127.0.0.1 only.
 * It can be stopped and started again on the same port with its mail kept, have mail dropped
 * into its store while stopped (as a local delivery agent would), and lose its UID list
 * (the way a real server ends up with a new UIDVALIDITY).
 *
 * Works as root (Dovecot refuses to run its login processes as root: they run as `nobody`,
 * and so does mail access) and as an ordinary user (everything runs as that user).
 */

const BINARIES = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'];

export function dovecotBinary(): string | undefined {
  return BINARIES.find((b) => existsSync(b));
}

/**
 * Whether the Dovecot tests run: skipped with a loud message when Dovecot is missing, unless
 * SWITCHBOARD_REQUIRE_SERVICES=1 (CI), where they run and fail on the missing server.
 */
export function dovecotSkip(): boolean {
  if (dovecotBinary()) return false;
  if (process.env.SWITCHBOARD_REQUIRE_SERVICES === '1') return false;
  console.warn(
    '\n!!! Dovecot is not installed: the email tests against a real IMAP server are SKIPPED.\n' +
      '!!! Install it with `apt-get install -y dovecot-imapd` (CI sets SWITCHBOARD_REQUIRE_SERVICES=1 and fails instead).\n',
  );
  return true;
}

export interface ImapConnection {
  host: string;
  port: number;
  secure: false;
  /** Set on a server without TLS: the channel may log in over the plain connection. */
  allowInsecureAuth?: true;
  /** Set on a server with TLS: its certificate is self-signed. */
  rejectUnauthorized?: false;
  user: string;
  password: string;
}

export interface DovecotOptions {
  /**
   * STARTTLS with a self-signed certificate, required before any login (`ssl = required`):
   * a client that logs in over the plain connection is refused.
   */
  tls?: boolean;
  /** Also accept XOAUTH2 logins (as Microsoft 365 and Gmail do), checked at this RFC 7662 introspection URL. */
  oauth2?: { introspectionUrl: string };
}

export interface MessageState {
  uid: number;
  seen: boolean;
  messageId?: string;
}

export class Dovecot {
  readonly dir: string;
  readonly port: number;
  readonly user = 'support';
  readonly password = `pw-${randomBytes(6).toString('hex')}`;
  readonly #binary: string;
  readonly #mailOwner: { uid: number; gid: number } | undefined;
  #child: ChildProcess | undefined;

  private constructor(binary: string, dir: string, port: number, mailOwner: { uid: number; gid: number } | undefined, options: DovecotOptions = {}) {
    this.options = options;
    this.#binary = binary;
    this.dir = dir;
    this.port = port;
    this.#mailOwner = mailOwner;
  }

  readonly options: DovecotOptions;

  static async start(options: DovecotOptions = {}): Promise<Dovecot> {
    const binary = dovecotBinary();
    if (!binary) throw new Error('Dovecot is not installed (apt-get install -y dovecot-imapd); SWITCHBOARD_REQUIRE_SERVICES=1 requires it');
    const dir = await mkdtemp(join(tmpdir(), 'sb-dovecot-'));
    // Dovecot's unprivileged processes must be able to reach the sockets and the store below.
    await chmod(dir, 0o755);
    const root = process.getuid?.() === 0;
    const server = new Dovecot(binary, dir, await freePort(), root ? { uid: 65534, gid: 65534 } : undefined, options);
    await server.#writeConfig(root);
    await server.startServer();
    return server;
  }

  get imap(): ImapConnection {
    const tls = this.options.tls ? { rejectUnauthorized: false as const } : { allowInsecureAuth: true as const };
    return { host: '127.0.0.1', port: this.port, secure: false, ...tls, user: this.user, password: this.password };
  }

  get #home(): string {
    return join(this.dir, 'home');
  }

  async #writeConfig(root: boolean): Promise<void> {
    const me = userInfo();
    const runAs = root ? 'nobody' : me.username;
    // Not root: Dovecot cannot hand its sockets to its usual `dovecot` group, only to ours.
    const group = root ? undefined : await groupName(me.gid);
    const owner = this.#mailOwner ?? { uid: me.uid, gid: me.gid };
    for (const sub of ['run', 'state', 'home']) await mkdir(join(this.dir, sub), { recursive: true });
    if (root) await chown(this.#home, owner.uid, owner.gid);
    await writeFile(join(this.dir, 'passwd'), `${this.user}:{PLAIN}${this.password}:${owner.uid}:${owner.gid}::${this.#home}::\n`);
    const tls = this.options.tls ? await this.#certificate() : undefined;
    const oauth2 = this.options.oauth2;
    if (oauth2) {
      // Dovecot's oauth2 passdb: the token is POSTed (token=…) to the introspection URL, and the
      // answer's `username` must be the user logging in.
      await writeFile(join(this.dir, 'dovecot-oauth2.conf.ext'), [
        `introspection_url = ${oauth2.introspectionUrl}`,
        'introspection_mode = post',
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        '',
      ].join('\n'));
    }
    await writeFile(join(this.dir, 'dovecot.conf'), [
      'protocols = imap',
      'listen = 127.0.0.1',
      `base_dir = ${this.dir}/run`,
      `state_dir = ${this.dir}/state`,
      `instance_name = sb-test-${this.port}`,
      `log_path = ${this.dir}/dovecot.log`,
      ...(tls ? ['ssl = required', `ssl_cert = <${tls.cert}`, `ssl_key = <${tls.key}`, 'disable_plaintext_auth = yes'] : ['ssl = no', 'disable_plaintext_auth = no']),
      `auth_mechanisms = plain login${oauth2 ? ' xoauth2' : ''}`,
      // A wrong password is answered at once (the default waits 2 s to slow down guessing).
      'auth_failure_delay = 0',
      // …and repeated failures from one address are not penalised with growing waits either.
      // No chroot: only root may chroot, and a test server gains nothing from it.
      'service anvil {\n  chroot =\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}',
      `default_internal_user = ${runAs}`,
      `default_login_user = ${runAs}`,
      ...(group ? [`default_internal_group = ${group}`] : []),
      `first_valid_uid = ${Math.min(owner.uid, 500)}`,
      'mail_location = maildir:~/Maildir',
      // Mail dropped into the store while the server was down is picked up at once.
      'maildir_very_dirty_syncs = no',
      ...(oauth2 ? [`passdb {\n  driver = oauth2\n  mechanisms = xoauth2\n  args = ${this.dir}/dovecot-oauth2.conf.ext\n}`] : []),
      `passdb {\n  driver = passwd-file\n  mechanisms = plain login\n  args = scheme=PLAIN username_format=%u ${this.dir}/passwd\n}`,
      `userdb {\n  driver = passwd-file\n  args = username_format=%u ${this.dir}/passwd\n}`,
      `service imap-login {\n  chroot =\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${this.port}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
      '',
    ].join('\n'));
  }

  /** A self-signed certificate for 127.0.0.1, made with the openssl command line. */
  async #certificate(): Promise<{ cert: string; key: string }> {
    const cert = join(this.dir, 'cert.pem');
    const key = join(this.dir, 'key.pem');
    await new Promise<void>((resolve, reject) => {
      execFile('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1'],
        (err) => (err ? reject(err) : resolve()));
    });
    return { cert, key };
  }

  /** Starts (or restarts) the server on its port; resolves once it answers. */
  async startServer(): Promise<void> {
    if (this.#child) return;
    const child = spawn(this.#binary, ['-F', '-c', join(this.dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        this.#child = undefined;
        throw new Error(`dovecot exited with ${child.exitCode}: ${output}\n${await this.log()}`);
      }
      if (await greets(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stopServer();
    throw new Error(`dovecot did not answer on 127.0.0.1:${this.port}: ${output}\n${await this.log()}`);
  }

  /** Stops the server; the mail store stays. Connected clients see the connection close. */
  async stopServer(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    // Session processes can outlive the master for seconds; a stopped service (systemd stops the
    // whole control group) leaves none, so neither do we.
    const sessions = child.pid === undefined ? [] : await descendants(child.pid);
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    for (const pid of sessions) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async close(): Promise<void> {
    await this.stopServer();
    await rm(this.dir, { recursive: true, force: true });
  }

  async log(): Promise<string> {
    return readFile(join(this.dir, 'dovecot.log'), 'utf8').catch(() => '');
  }

  /** A logged-in client; the caller logs out. */
  async client(): Promise<ImapFlow> {
    const c = new ImapFlow({ host: '127.0.0.1', port: this.port, secure: false, auth: { user: this.user, pass: this.password }, tls: { rejectUnauthorized: false }, logger: false });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  async #withClient<T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> {
    const c = await this.client();
    try {
      return await fn(c);
    } finally {
      await c.logout().catch(() => c.close());
    }
  }

  /** How the tests "send" mail: IMAP APPEND, as a delivery agent would put it in the folder. */
  async append(raw: string | Buffer, opts: { mailbox?: string; flags?: string[] } = {}): Promise<number> {
    return this.#withClient(async (c) => {
      const res = await c.append(opts.mailbox ?? 'INBOX', raw, opts.flags ?? []);
      if (!res || res.uid === undefined) throw new Error('APPEND returned no UID');
      return res.uid;
    });
  }

  async createMailbox(name: string): Promise<void> {
    await this.#withClient((c) => c.mailboxCreate(name));
  }

  async uidValidity(mailbox = 'INBOX'): Promise<bigint> {
    return this.#withClient(async (c) => {
      const status = await c.status(mailbox, { uidValidity: true });
      if (!status || status.uidValidity === undefined) throw new Error(`no status for ${mailbox}`);
      return status.uidValidity;
    });
  }

  /** Every message in the folder with its \Seen flag and Message-ID, by UID. */
  async messages(mailbox = 'INBOX'): Promise<MessageState[]> {
    return this.#withClient(async (c) => {
      const lock = await c.getMailboxLock(mailbox);
      try {
        if (!c.mailbox || c.mailbox.exists === 0) return [];
        const all = await c.fetchAll('1:*', { uid: true, flags: true, envelope: true });
        return all.map((m) => ({ uid: m.uid, seen: m.flags?.has('\\Seen') ?? false, messageId: m.envelope?.messageId }));
      } finally {
        lock.release();
      }
    });
  }

  /** While the server is stopped: a local delivery agent writes the mail into the Maildir. */
  async deliverToStore(raw: string, mailbox = 'INBOX'): Promise<void> {
    const folder = join(this.#home, 'Maildir', mailbox === 'INBOX' ? '' : `.${mailbox}`);
    for (const sub of ['tmp', 'new', 'cur']) await this.#mkdirOwned(join(folder, sub));
    const name = `${Math.floor(Date.now() / 1000)}.M${randomBytes(4).toString('hex')}P${process.pid}.${hostname()}`;
    await writeFile(join(folder, 'tmp', name), raw.replace(/\r?\n/g, '\n'));
    if (this.#mailOwner) await chown(join(folder, 'tmp', name), this.#mailOwner.uid, this.#mailOwner.gid);
    await rename(join(folder, 'tmp', name), join(folder, 'new', name));
  }

  /**
   * While the server is stopped: forget the folder's UID list and indexes, as after a restore or
   * a migration. The server numbers the messages anew under a new UIDVALIDITY.
   */
  async forgetUids(mailbox = 'INBOX'): Promise<void> {
    const folder = join(this.#home, 'Maildir', mailbox === 'INBOX' ? '' : `.${mailbox}`);
    for (const f of await readdir(folder)) {
      if (f === 'dovecot-uidlist' || f.startsWith('dovecot.index')) await rm(join(folder, f), { force: true });
    }
  }

  async #mkdirOwned(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
    if (this.#mailOwner) {
      // Every level below home must belong to the mail user.
      let p = path;
      while (p.startsWith(this.#home) && p !== this.#home) {
        await chown(p, this.#mailOwner.uid, this.#mailOwner.gid);
        p = join(p, '..');
      }
    }
  }
}

async function groupName(gid: number): Promise<string> {
  const groups = await readFile('/etc/group', 'utf8').catch(() => '');
  const line = groups.split('\n').find((l) => l.split(':')[2] === String(gid));
  if (!line) throw new Error(`no name for group ${gid} in /etc/group; Dovecot needs one`);
  return line.split(':')[0]!;
}

/** Every process below `pid` (Linux /proc). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) parents.set(Number(entry), ppid);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** The server is up when it sends its IMAP greeting. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (d: Buffer) => done(d.toString().startsWith('* OK')));
    socket.once('error', () => done(false));
  });
}

/** A plain RFC 5322 message for the tests (CRLF line ends). */
export function mail(opts: {
  from: string;
  to?: string;
  subject: string;
  body: string;
  messageId?: string | null;
  date?: Date;
  headers?: Record<string, string>;
}): string {
  const lines = [
    `From: ${opts.from}`,
    `To: ${opts.to ?? 'support@acme.test'}`,
    `Subject: ${opts.subject}`,
    `Date: ${(opts.date ?? new Date()).toUTCString()}`,
    ...(opts.messageId === null ? [] : [`Message-ID: ${opts.messageId ?? `<${randomBytes(8).toString('hex')}@customer.test>`}`]),
    'MIME-Version: 1.0',
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  if (!Object.keys(opts.headers ?? {}).some((k) => k.toLowerCase() === 'content-type')) {
    lines.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
  }
  return `${lines.join('\r\n')}\r\n\r\n${opts.body.replace(/\r?\n/g, '\r\n')}\r\n`;
}
