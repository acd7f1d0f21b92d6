/** WhatsApp's customer-service window: free-form messages only within 24 h of the customer's last message. */
export const WINDOW_MS = 24 * 60 * 60 * 1000;

export interface WindowState {
  open: boolean;
  /** When the customer last wrote, if the gateway knows. */
  lastInboundAt?: Date;
  /** Meta said the window is closed (error 131047), whatever the gateway's clock says. */
  closedByMeta?: boolean;
}

/**
 * Reads the window from the conversation's `lastInboundAt` (set by the pipeline from the last
 * inbound message) and from Meta's last 131047 for this conversation, if the customer has not
 * written since. Unknown means open: Meta then decides, and a refusal is handled like a closed window.
 */
export function windowState(lastInboundAt: unknown, now: Date, metaClosedAt?: Date): WindowState {
  const at = typeof lastInboundAt === 'string' ? new Date(lastInboundAt) : undefined;
  const known = at !== undefined && !Number.isNaN(at.getTime()) ? at : undefined;
  if (metaClosedAt && (!known || metaClosedAt.getTime() >= known.getTime())) {
    return { open: false, closedByMeta: true, ...(known ? { lastInboundAt: known } : {}) };
  }
  if (!known) return { open: true };
  return { open: now.getTime() - known.getTime() < WINDOW_MS, lastInboundAt: known };
}

/** "26 hours ago", "40 minutes ago": never "0 hours ago". */
function ago(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'} ago`;
  return `${Math.floor(minutes / 60)} hours ago`;
}

const stamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Why only a template may go now, in words the agent can act on. */
export function describeClosedWindow(state: WindowState, now: Date): string {
  const last = state.lastInboundAt ? `the customer last wrote ${ago(now.getTime() - state.lastInboundAt.getTime())} (${stamp(state.lastInboundAt)})` : undefined;
  if (state.closedByMeta) {
    return `WhatsApp counts the 24-hour customer-service window as closed (error 131047)${last ? `, although by the gateway's clock ${last}` : ''}, and outside it only approved templates may be sent`;
  }
  return `${last ?? 'the customer has not written within the last 24 hours'}, outside WhatsApp's 24-hour customer-service window, where only approved templates may be sent`;
}
