import { topicOf } from '../../src/core/rules/engine.ts';
import type { Decision } from '../../src/core/rules/schema.ts';

const pct = (a: number, b: number) => `${((100 * a) / Math.max(b, 1)).toFixed(1)}%`;

/** The three figures docs/rules.md reports for a labeled set: right topic, pleas caught, routine messages made urgent. */
export class RoutingTally {
  total = 0;
  right = 0;
  rg = 0;
  rgCaught = 0;
  routine = 0;
  falseUrgent = 0;

  /** Counts one routed message; returns the topic the rules gave it. */
  add(expected: string, decision: Decision): string {
    const got = topicOf(decision);
    this.total++;
    if (got === expected) this.right++;
    if (expected === 'responsible_gaming') {
      this.rg++;
      if (got === expected) this.rgCaught++;
    } else {
      this.routine++;
      if (decision.priority === 'urgent') this.falseUrgent++;
    }
    return got;
  }

  toString(): string {
    return `${this.right}/${this.total} topic right (${pct(this.right, this.total)}); RG caught ${this.rgCaught}/${this.rg} (${pct(this.rgCaught, this.rg)}); false urgent ${this.falseUrgent}/${this.routine} (${pct(this.falseUrgent, this.routine)})`;
  }
}
