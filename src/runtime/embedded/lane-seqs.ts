/**
 * The seqs of every lane's queued jobs, oldest first: the embedded store's per-lane order, kept
 * in memory instead of in a table index keyed by lane. Such an index takes every accept's entry
 * at its lane's place in the tree, so with a large backlog each accept dirtied a page of its own
 * and wrote it whole into the WAL; the table's queue index is ordered by seq, so accepts append
 * to it. The store keeps this in step with its writes and reads it back from that index when it
 * rebuilds (a restart: one pass over the queued jobs).
 */
export class LaneSeqs {
  /** Per lane its seqs; `from` is where the queued ones start (jobs leave from the front). */
  private readonly lanes = new Map<string, { seqs: number[]; from: number }>();

  clear(): void {
    this.lanes.clear();
  }

  /** A job queued at the lane's end (seqs only grow). */
  push(lane: string, seq: number): void {
    const l = this.lanes.get(lane);
    if (l) l.seqs.push(seq);
    else this.lanes.set(lane, { seqs: [seq], from: 0 });
  }

  /** A lane read back whole, its seqs in order. */
  set(lane: string, seqs: number[]): void {
    this.lanes.set(lane, { seqs, from: 0 });
  }

  /** The seq of the lane's oldest queued job. */
  first(lane: string): number | undefined {
    const l = this.lanes.get(lane);
    return l?.seqs[l.from];
  }

  /** Up to `max` queued seqs of the lane from `seq` on (a head and what may be its batch). */
  from(lane: string, seq: number, max: number): number[] {
    const l = this.lanes.get(lane);
    if (!l) return [];
    const at = l.seqs.indexOf(seq, l.from);
    return at < 0 ? [] : l.seqs.slice(at, at + max);
  }

  /** A job left the queue (done, dead): usually the lane's oldest. */
  remove(lane: string, seq: number): void {
    const l = this.lanes.get(lane);
    if (!l) return;
    if (l.seqs[l.from] === seq) l.from++;
    else {
      const at = l.seqs.indexOf(seq, l.from);
      if (at < 0) return;
      l.seqs.splice(at, 1);
    }
    if (l.from === l.seqs.length) this.lanes.delete(lane);
    else if (l.from >= 64 && l.from * 2 >= l.seqs.length) {
      // Drop what left from the front now and then, so a long-lived lane's array does not grow without end.
      l.seqs = l.seqs.slice(l.from);
      l.from = 0;
    }
  }
}
