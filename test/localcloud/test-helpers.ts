/** Small helpers shared by the localcloud tests (not a test file itself). */
import { randomBytes } from 'node:crypto';
import type { Message, Subscription } from '@google-cloud/pubsub';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A resource id no other test in the same emulator uses. */
export const uniqueId = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Received {
  message: Message;
  at: number;
}

/**
 * Listen on `subscription`, handing each message to `onMessage` (which acks or nacks), and
 * keep every delivery with its arrival time. Call `close()` in a finally.
 */
export function listen(subscription: Subscription, onMessage: (m: Message, all: Received[]) => void): { received: Received[]; close: () => Promise<void> } {
  const received: Received[] = [];
  const errors: Error[] = [];
  subscription.on('message', (message: Message) => {
    received.push({ message, at: Date.now() });
    onMessage(message, received);
  });
  subscription.on('error', (err: Error) => errors.push(err));
  return {
    received,
    close: async () => {
      subscription.removeAllListeners('message');
      await subscription.close();
      if (errors.length) throw new Error(`subscription errors: ${errors.map((e) => e.message).join('; ')}`);
    },
  };
}
