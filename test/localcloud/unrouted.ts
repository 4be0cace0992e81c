/**
 * A watch on the storage notification topic for uploads that no function will see. With
 * localcloud alone (`make localcloud`) nothing is routed to onObjectFinalized, so a finalize
 * event waits in the bridge's subscription and no job is ever made: to the user that looks
 * like a hang. This watch reads its own copy of every notification and reports the ones that
 * arrive while no storage route exists; it does not take events away from the bridge.
 */
import { randomBytes } from 'node:crypto';
import type { Message, PubSub } from '@google-cloud/pubsub';

export interface UnroutedObject {
  bucket: string;
  name: string;
}

/** Starts the watch; resolves with its stop function (closes and deletes its subscription). */
export async function watchUnroutedFinalize(pubsub: PubSub, topic: string, isRouted: () => boolean, onUnrouted: (object: UnroutedObject) => void): Promise<() => Promise<void>> {
  const name = `localcloud-unrouted-${randomBytes(4).toString('hex')}`;
  const [subscription] = await pubsub.createSubscription(topic, name, { ackDeadlineSeconds: 30 });
  subscription.on('message', (msg: Message) => {
    msg.ack();
    if (msg.attributes['eventType'] !== 'OBJECT_FINALIZE' || isRouted()) return;
    onUnrouted({ bucket: msg.attributes['bucketId'] ?? '?', name: msg.attributes['objectId'] ?? '?' });
  });
  // Without a listener a stream error would crash the process; the watch is only advice.
  subscription.on('error', () => undefined);
  return async () => {
    await subscription.close();
    await subscription.delete().catch(() => undefined);
  };
}

/** The warning `make localcloud` prints (stderr) for such an upload. */
export function unroutedWarning(object: UnroutedObject): string {
  return (
    `localcloud: gs://${object.bucket}/${object.name} was uploaded, but no function is subscribed to its finalize event, ` +
    'so no job will run for it. `make localcloud` starts the emulators only: start the whole system (functions and worker too) with `make up`, ' +
    'or run onObjectFinalized yourself and restart localcloud with LOCALCLOUD_STORAGE_FUNCTION_URL pointing at it.'
  );
}
