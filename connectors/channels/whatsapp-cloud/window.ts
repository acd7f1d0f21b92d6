/** WhatsApp's customer-service window: free-form messages only within 24 h of the customer's last message. */
export const WINDOW_MS = 24 * 60 * 60 * 1000;

export interface WindowState {
  open: boolean;
  /** When the customer last wrote, if the gateway knows. */
  lastInboundAt?: Date;
}

/**
 * Reads the window from the conversation's `lastInboundAt` (set by the pipeline from the last
 * inbound message). Unknown means open: Meta then decides, and a refusal (131047) is handled
 * like a closed window.
 */
export function windowState(lastInboundAt: unknown, now: Date): WindowState {
  if (typeof lastInboundAt !== 'string') return { open: true };
  const at = new Date(lastInboundAt);
  if (Number.isNaN(at.getTime())) return { open: true };
  return { open: now.getTime() - at.getTime() < WINDOW_MS, lastInboundAt: at };
}

export function describeLastInbound(state: WindowState, now: Date): string {
  if (!state.lastInboundAt) return 'the customer has not written within the last 24 hours';
  const hours = Math.floor((now.getTime() - state.lastInboundAt.getTime()) / 3_600_000);
  return `the customer last wrote ${hours} hours ago (${state.lastInboundAt.toISOString().replace(/\.\d{3}Z$/, 'Z')})`;
}
