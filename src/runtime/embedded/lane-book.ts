import { CLASS_COUNT, laneClass } from '../classes.ts';

/** What the book knows of the job at the head of a lane: where it goes and when it is due. */
export interface Head {
  seq: number;
  runAt: number;
  target: string;
}

interface Lane {
  name: string;
  head: Head;
  /** Queued jobs per class (a job not classified yet counts under its provisional class). */
  counts: number[];
  cls: number;
  where: 'ready' | 'delayed' | 'running';
  /** Jobs being delivered (head and batch); their class changes are not booked while they run. */
  runningSeqs: number[];
  /** Position in the round-robin: lanes of a class run in the order they became ready. */
  turn: number;
  /** Bumped on every move, so stale entries of the delayed heap are recognised. */
  version: number;
}

interface Delayed {
  at: number;
  lane: string;
  version: number;
}

/**
 * The embedded store's scheduling state, in memory and kept in step with the table: every lane
 * with queued work, its head, and how many jobs of each class it holds. Ready lanes wait in one
 * queue per target and class (a paused target is skipped as a whole); lanes whose head is not
 * due yet (backoff, an album settling) wait in a heap by due time. Finding work costs the
 * lanes taken, never the backlog.
 */
export class LaneBook {
  private readonly lanes = new Map<string, Lane>();
  /** target → one queue per class, in turn order (a Map keeps insertion order). */
  private readonly ready = new Map<string, Map<string, Lane>[]>();
  private readonly delayed: Delayed[] = [];
  private turns = 0;
  /** Lanes in the ready queues (of paused targets too). */
  private ready_ = 0;

  get size(): number {
    return this.lanes.size;
  }

  get readyCount(): number {
    return this.ready_;
  }

  has(lane: string): boolean {
    return this.lanes.has(lane);
  }

  isRunning(lane: string, seq: number): boolean {
    return this.lanes.get(lane)?.runningSeqs.includes(seq) ?? false;
  }

  clear(): void {
    this.lanes.clear();
    this.ready.clear();
    this.delayed.length = 0;
    this.ready_ = 0;
  }

  /** A lane that got its first job, or (when rebuilding) a lane as the table has it. */
  add(name: string, head: Head, counts: number[], now: number): void {
    const lane: Lane = { name, head, counts, cls: laneClass(counts), where: 'delayed', runningSeqs: [], turn: 0, version: 0 };
    this.lanes.set(name, lane);
    this.place(lane, now);
  }

  /** Keeps a lane that is running as it is while the rest of the book is rebuilt. */
  keepRunning(name: string, head: Head, counts: number[], runningSeqs: number[]): void {
    this.lanes.set(name, { name, head, counts, cls: laneClass(counts), where: 'running', runningSeqs, turn: 0, version: 0 });
  }

  runningLanes(): { name: string; runningSeqs: number[] }[] {
    return [...this.lanes.values()].filter((l) => l.where === 'running').map((l) => ({ name: l.name, runningSeqs: l.runningSeqs }));
  }

  /** A job of `cls` joined (+1) or left (-1) the lane; a ready lane whose class rose moves up. */
  count(name: string, cls: number, delta: number, now: number): void {
    const lane = this.lanes.get(name);
    if (!lane) return;
    lane.counts[cls] = Math.max(0, lane.counts[cls]! + delta);
    const next = laneClass(lane.counts);
    if (next === lane.cls) return;
    if (lane.where === 'ready') {
      this.unready(lane);
      lane.cls = next;
      this.place(lane, now);
    } else lane.cls = next;
  }

  /** A job of the lane changed class (classified): one count moves. */
  reclass(name: string, from: number, to: number, now: number): void {
    if (from === to) return;
    const lane = this.lanes.get(name);
    if (!lane) return;
    lane.counts[from] = Math.max(0, lane.counts[from]! - 1);
    lane.counts[to]!++;
    this.count(name, to, 0, now);
  }

  /** The lane's jobs finished, failed or moved: it gets its new head (or leaves the book) and its turn. */
  settle(name: string, head: Head | undefined, now: number): void {
    const lane = this.lanes.get(name);
    if (!lane) return;
    if (lane.where === 'ready') this.unready(lane);
    lane.runningSeqs = [];
    if (!head) {
      this.lanes.delete(name);
      return;
    }
    lane.head = head;
    lane.cls = laneClass(lane.counts);
    this.place(lane, now);
  }

  /**
   * Up to `max` lanes whose heads are due, most urgent class first, round-robin within a class
   * (across targets too), skipping paused targets. They are marked running (their head; see setRunning).
   */
  take(now: number, max: number, paused: (target: string) => boolean): { lane: string; seq: number; cls: number }[] {
    this.promote(now);
    const out: { lane: string; seq: number; cls: number }[] = [];
    const open = [...this.ready].filter(([target]) => !paused(target)).map(([, queues]) => queues);
    for (let cls = 0; cls < CLASS_COUNT && out.length < max; cls++) {
      while (out.length < max) {
        let best: Lane | undefined;
        for (const queues of open) {
          const first = firstOf(queues[cls]!);
          if (first && (!best || first.turn < best.turn)) best = first;
        }
        if (!best) break;
        this.unready(best);
        best.where = 'running';
        best.runningSeqs = [best.head.seq];
        best.version++;
        out.push({ lane: best.name, seq: best.head.seq, cls: best.cls });
      }
    }
    return out;
  }

  /** The jobs a taken lane actually runs (its head plus a batch). */
  setRunning(name: string, seqs: number[]): void {
    const lane = this.lanes.get(name);
    if (lane) lane.runningSeqs = seqs;
  }

  /** When the earliest delayed lane is due (for the worker's timer). */
  nextDue(): number | undefined {
    while (this.delayed.length > 0) {
      const top = this.delayed[0]!;
      const lane = this.lanes.get(top.lane);
      if (lane && lane.where === 'delayed' && lane.version === top.version) return top.at;
      heapPop(this.delayed);
    }
    return undefined;
  }

  private promote(now: number): void {
    while (this.delayed.length > 0 && this.delayed[0]!.at <= now) {
      const top = heapPop(this.delayed)!;
      const lane = this.lanes.get(top.lane);
      if (lane && lane.where === 'delayed' && lane.version === top.version) this.toReady(lane);
    }
  }

  private place(lane: Lane, now: number): void {
    lane.version++;
    if (lane.head.runAt > now) {
      lane.where = 'delayed';
      heapPush(this.delayed, { at: lane.head.runAt, lane: lane.name, version: lane.version });
    } else this.toReady(lane);
  }

  private toReady(lane: Lane): void {
    let queues = this.ready.get(lane.head.target);
    if (!queues) this.ready.set(lane.head.target, (queues = Array.from({ length: CLASS_COUNT }, () => new Map<string, Lane>())));
    lane.where = 'ready';
    lane.turn = ++this.turns;
    lane.version++;
    queues[lane.cls]!.set(lane.name, lane);
    this.ready_++;
  }

  private unready(lane: Lane): void {
    if (this.ready.get(lane.head.target)?.[lane.cls]!.delete(lane.name)) this.ready_--;
  }
}

function firstOf(queue: Map<string, Lane>): Lane | undefined {
  for (const lane of queue.values()) return lane;
  return undefined;
}

function heapPush(heap: Delayed[], item: Delayed): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.at <= item.at) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: Delayed[]): Delayed | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || !last) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    const at = (k: number) => (k === i ? last.at : heap[k]!.at);
    if (l < heap.length && heap[l]!.at < at(m)) m = l;
    if (r < heap.length && heap[r]!.at < at(m)) m = r;
    if (m === i) break;
    heap[i] = heap[m]!;
    i = m;
  }
  heap[i] = last;
  return top;
}
