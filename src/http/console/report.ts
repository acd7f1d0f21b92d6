import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChannelStatus, Logger } from '../../core/connector.ts';
import type { Activity, ActivitySnapshot } from '../../runtime/activity.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import type { MountedChannel } from '../app.ts';

/**
 * One process's view: its channels' state and what it saw (last messages, errors, the
 * helpdesk's answers). On Redis every process publishes its report every few seconds so the
 * console on any of them shows all of them.
 */
export interface ProcessReport {
  /** Unique per gateway instance (several may share a host and even a process in tests). */
  id: string;
  /** For people: host and process id. */
  name: string;
  role: string;
  startedAt: number;
  at: number;
  inFlight: number;
  channels: { id: string; kind: string; status: ChannelStatus; routes: string[] }[];
  activity: ActivitySnapshot;
}

const PUBLISH_EVERY_MS = 10_000;

export interface Reporter {
  /** This process, now. */
  local(): Promise<ProcessReport>;
  /** Every live process (this one fresh), this one first. */
  all(): Promise<ProcessReport[]>;
  stop(): void;
}

export function createReporter(opts: { role: string; runtime: Runtime; channels: MountedChannel[]; activity: Activity; log: Logger }): Reporter {
  const name = `${hostname()}:${process.pid}`;
  const id = `${name}:${randomBytes(4).toString('hex')}`;
  const startedAt = Date.now();
  const local = async (): Promise<ProcessReport> => {
    const channels = opts.channels.map((c) => {
      const status = c.status();
      // A status read while not ready is the channel's latest error, kept after it recovers.
      if (!status.ready && status.detail && status.state !== 'waiting' && status.state !== 'connecting') opts.activity.channelError(c.id, status.detail);
      return { id: c.id, kind: c.kind, status, routes: c.routes.filter((r) => r.prefix !== 'admin').map((r) => `${r.method} /${r.prefix ?? 'webhooks'}/${c.id}${r.path}`) };
    });
    const stats = await opts.runtime.stats().catch(() => undefined);
    return { id, name, role: opts.role, startedAt, at: Date.now(), inFlight: stats?.inFlight ?? 0, channels, activity: opts.activity.snapshot() };
  };
  const board = opts.runtime.processes;
  const publish = async () => {
    try {
      await board?.publish(id, JSON.stringify(await local()), PUBLISH_EVERY_MS * 3);
    } catch (err) {
      opts.log.debug({ err }, 'could not publish the process report');
    }
  };
  const timer = board ? setInterval(() => void publish(), PUBLISH_EVERY_MS) : undefined;
  timer?.unref();
  if (board) void publish();
  return {
    local,
    async all() {
      const mine = await local();
      const others = board
        ? (await board.list().catch(() => [])).map((r) => JSON.parse(r) as ProcessReport).filter((r) => r.id !== id)
        : [];
      return [mine, ...others.sort((a, b) => a.name.localeCompare(b.name))];
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
