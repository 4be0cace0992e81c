/**
 * What the official client makes of the worker's subscriber options: the lease deadline it
 * sends (receipt and extension modAcks, the stream's ack deadline) stays within the bounds
 * whatever this process's ack times are, so a killed worker's jobs are not held for minutes.
 * The client's Subscriber is built without a connection: only its deadline bookkeeping runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Duration, PubSub } from '@google-cloud/pubsub';
import { Subscriber } from '@google-cloud/pubsub/build/src/subscriber.js';
import { ACK_DEADLINE_BOUNDS_S, jobsAtOnce, subscriberOptions } from '../../../gpu-worker/service/pull.js';

const settings = { concurrency: 4, maxBatchSize: 8, maxJobSeconds: 300, shutdownGraceMs: 10_000 };

function subscriber(): Subscriber {
  const pubsub = new PubSub({ projectId: 'unit', apiEndpoint: '127.0.0.1:9', emulatorMode: true });
  return new Subscriber(pubsub.subscription('jobs-worker'), subscriberOptions(settings, Duration));
}

describe('subscriberOptions through the official client', () => {
  it('a fresh process leases for the minimum (also the stream ack deadline sent on connect)', () => {
    const sub = subscriber();
    assert.equal(sub.ackDeadline, ACK_DEADLINE_BOUNDS_S.min);
  });

  it('ack times of many minutes never raise the lease past the cap; short ones never drop it below the floor', () => {
    const sub = subscriber();
    for (let i = 0; i < 50; i++) sub.updateAckDeadline(590);
    assert.equal(sub.ackDeadline, ACK_DEADLINE_BOUNDS_S.max, 'the default cap would be 600 s');
    const fast = subscriber();
    for (let i = 0; i < 50; i++) fast.updateAckDeadline(1);
    assert.equal(fast.ackDeadline, ACK_DEADLINE_BOUNDS_S.min);
  });

  it('live jobs keep being extended past the slowest allowed job, and the cap stays within a minute', () => {
    const sub = subscriber();
    assert.ok(sub.maxExtensionTime.totalOf('second') > settings.maxJobSeconds);
    assert.ok(ACK_DEADLINE_BOUNDS_S.max <= 60, 'a dead worker\'s jobs come back within about a minute');
    assert.ok(ACK_DEADLINE_BOUNDS_S.min >= 10, 'Pub/Sub\'s minimum ack deadline');
    assert.equal(sub.maxMessages, jobsAtOnce(settings.concurrency, settings.maxBatchSize));
  });
});
