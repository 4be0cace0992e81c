// The spec's Pub/Sub tests (1, 2, 3, 5, 7), through the official client against the official
// emulator, plus the harness's own lifecycle. One emulator for the file; tests run
// concurrently on their own topics because the slow ones mostly wait on ack deadlines.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { PubSub, v1 } from '@google-cloud/pubsub';
import { findPubsubEmulator, groupAlive, PubsubEmulatorMissingError, startPubsubEmulator, type PubsubEmulator } from './pubsub.js';
import { createTopology, describeTopology, DEFAULT_NAMES, topologyNames, type TopologyNames } from './topology.js';
import { listen, sleep, uniqueId, waitFor } from './test-helpers.js';

const projectId = 'petcutout-local';

/**
 * A behaviour real Pub/Sub has and the official emulator lacks: the check still runs against
 * the emulator; where the gap shows, the test is reported as todo (with what was seen) instead
 * of failing, and where the emulator behaves like production it passes as a normal test.
 */
async function knownEmulatorGap(t: TestContext, gap: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (err) {
    if (!(err instanceof assert.AssertionError)) throw err;
    t.todo(`${gap} (seen: ${err.message.split('\n')[0]})`);
  }
}

describe('Pub/Sub emulator harness', () => {
  it('says what to install when the emulator is missing', async () => {
    await assert.rejects(findPubsubEmulator('/nonexistent-sdk'), (err: unknown) => {
      assert.ok(err instanceof PubsubEmulatorMissingError);
      assert.match(err.message, /google-cloud-cli-pubsub-emulator/);
      assert.match(err.message, /Java 17/);
      assert.match(err.message, /make setup/);
      return true;
    });
  });

});

describe('official Pub/Sub emulator through @google-cloud/pubsub', { concurrency: true }, () => {
  let emu: PubsubEmulator;
  let pubsub: PubSub;

  before(async () => {
    emu = await startPubsubEmulator();
    console.log(`# Pub/Sub emulator answered after ${emu.startupMs} ms`);
    pubsub = new PubSub({ projectId, apiEndpoint: emu.host });
  });
  // Stopping is checked here rather than with a second emulator: one JVM start per file.
  after(async () => {
    await pubsub?.close();
    await emu?.stop();
    await emu?.stop(); // idempotent
    if (emu) {
      assert.equal(groupAlive(emu.pid), false, 'no process of the emulator group is left');
      await assert.rejects(fetch(`http://${emu.host}/`), 'the port no longer answers');
    }
  });

  it('listens on a free loopback port', async () => {
    assert.match(emu.host, /^127\.0\.0\.1:\d+$/);
    assert.equal(await (await fetch(`http://${emu.host}/`)).text(), 'Ok\n');
  });

  it('creates the shared topology, and creating it again is harmless', async () => {
    const names = prefixed(uniqueId('topo'));
    const topology = describeTopology(names, { maxDeliveryAttempts: 7, minBackoffSeconds: 1, maxBackoffSeconds: 5 });
    await createTopology(pubsub, topology);
    await createTopology(pubsub, topology);
    for (const t of topology.topics) assert.equal((await pubsub.topic(t).exists())[0], true, t);
    const [meta] = await pubsub.subscription(names.jobsSubscription).getMetadata();
    assert.equal(meta.ackDeadlineSeconds, 60);
    assert.equal(meta.deadLetterPolicy?.deadLetterTopic, `projects/${projectId}/topics/${names.deadLetterTopic}`);
    assert.equal(meta.deadLetterPolicy?.maxDeliveryAttempts, 7);
    assert.equal(Number(meta.retryPolicy?.minimumBackoff?.seconds), 1);
    assert.equal(Number(meta.retryPolicy?.maximumBackoff?.seconds), 5);
    const [storageSub] = await pubsub.subscription(names.storageSubscription).getMetadata();
    assert.equal(storageSub.topic, `projects/${projectId}/topics/${names.storageNotificationsTopic}`);
  });

  it('1: round trip keeps data, attributes, messageId, publishTime and orderingKey, in order', async () => {
    const [topic] = await pubsub.createTopic(uniqueId('t1'));
    const [sub] = await topic.createSubscription(uniqueId('s1'), { enableMessageOrdering: true });
    const publisher = pubsub.topic(topic.name, { messageOrdering: true });
    const before = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await publisher.publishMessage({ data: Buffer.from(`payload-${i}`), attributes: { n: String(i), kind: 'test' }, orderingKey: 'job-1' }));
    }
    const l = listen(sub, (m) => m.ack());
    try {
      await waitFor('3 messages', () => (l.received.length >= 3 ? true : undefined));
    } finally {
      await l.close();
    }
    assert.deepEqual(
      l.received.map((r) => r.message.id),
      ids,
    );
    l.received.forEach(({ message }, i) => {
      assert.equal(message.data.toString(), `payload-${i}`);
      assert.deepEqual(message.attributes, { n: String(i), kind: 'test' });
      assert.equal(message.orderingKey, 'job-1');
      assert.ok(message.publishTime.getTime() >= before - 1_000 && message.publishTime.getTime() <= Date.now());
    });
  });

  it('2: an unacked message comes back after the ack deadline with a new ackId; once acked, never again', async () => {
    const [topic] = await pubsub.createTopic(uniqueId('t2'));
    const [sub] = await topic.createSubscription(uniqueId('s2'), { ackDeadlineSeconds: 10 });
    // Unary Pull (the official GAPIC client) so no lease extension keeps the message.
    const client = new v1.SubscriberClient(pubsub.options as ConstructorParameters<typeof v1.SubscriberClient>[0]);
    try {
      const id = await topic.publishMessage({ data: Buffer.from('redeliver me') });
      const first = await pullOne(client, sub.name, 5_000);
      assert.equal(first.message?.messageId, id);
      const firstAt = Date.now();
      const second = await pullOne(client, sub.name, 20_000);
      const waited = Date.now() - firstAt;
      assert.equal(second.message?.messageId, id);
      assert.notEqual(second.ackId, first.ackId);
      assert.ok(waited >= 8_000, `redelivered after ${waited} ms, before the 10 s deadline`);
      await client.acknowledge({ subscription: sub.name, ackIds: [second.ackId ?? ''] });
      await client.acknowledge({ subscription: sub.name, ackIds: [second.ackId ?? ''] }); // a second ack is a no-op
      // Past another full deadline nothing comes back.
      await assert.rejects(pullOne(client, sub.name, 11_000), /nothing pulled/);
    } finally {
      await client.close();
    }
  });

  it('3: nack() redelivers promptly with a new ackId', async () => {
    const [topic] = await pubsub.createTopic(uniqueId('t3'));
    const [sub] = await topic.createSubscription(uniqueId('s3'));
    const l = listen(sub, (m, all) => (all.length === 1 ? m.nack() : m.ack()));
    try {
      await topic.publishMessage({ data: Buffer.from('nack me') });
      await waitFor('redelivery', () => (l.received.length >= 2 ? true : undefined), 10_000);
      await sleep(1_500); // an acked message must not come a third time
    } finally {
      await l.close();
    }
    const [a, b] = l.received;
    assert.ok(a && b);
    assert.equal(l.received.length, 2);
    assert.equal(b.message.id, a.message.id);
    assert.notEqual(b.message.ackId, a.message.ackId);
    assert.ok(b.at - a.at < 3_000, `nacked message came back after ${b.at - a.at} ms`);
  });

  it('4: lease extension keeps a message past its first deadline; deadlines over 600 s are refused', async () => {
    const [topic] = await pubsub.createTopic(uniqueId('t4'));
    const [sub] = await topic.createSubscription(uniqueId('s4'), { ackDeadlineSeconds: 10 });
    const l = listen(sub, () => undefined); // hold it: the client keeps extending the lease
    try {
      await topic.publishMessage({ data: Buffer.from('hold me') });
      await waitFor('first delivery', () => l.received[0]);
      await sleep(13_000);
      assert.equal(l.received.length, 1, 'not redelivered while the lease is extended');
      l.received[0]?.message.ack();
    } finally {
      await l.close();
    }
    await assert.rejects(topic.createSubscription(uniqueId('s4-long'), { ackDeadlineSeconds: 601 }), (err: Error & { code?: number }) => {
      assert.equal(err.code, 3, err.message); // INVALID_ARGUMENT
      return true;
    });
  });

  it('5: dead-letters after N attempts with deliveryAttempt 1..N and the four source attributes', async () => {
    const names = prefixed(uniqueId('dl'));
    await createTopology(pubsub, describeTopology(names, { maxDeliveryAttempts: 5, minBackoffSeconds: 0, maxBackoffSeconds: 1 }));
    const jobs = listen(pubsub.subscription(names.jobsSubscription), (m) => m.nack());
    const dead = listen(pubsub.subscription(names.deadLetterSubscription), (m) => m.ack());
    const published = new Date();
    try {
      await pubsub.topic(names.jobsTopic).publishMessage({ data: Buffer.from('{"jobId":"x"}'), attributes: { jobId: 'x' } });
      await waitFor('dead-lettered message', () => (dead.received.length ? true : undefined), 40_000);
    } finally {
      await jobs.close();
      await dead.close();
    }
    assert.deepEqual(
      jobs.received.map((r) => r.message.deliveryAttempt),
      [1, 2, 3, 4, 5],
    );
    const dl = dead.received[0]?.message;
    assert.ok(dl);
    assert.equal(dl.data.toString(), '{"jobId":"x"}');
    assert.equal(dl.attributes['jobId'], 'x');
    assert.equal(dl.attributes['CloudPubSubDeadLetterSourceDeliveryCount'], '5');
    assert.match(dl.attributes['CloudPubSubDeadLetterSourceSubscription'] ?? '', new RegExp(`${names.jobsSubscription}$`));
    assert.equal(dl.attributes['CloudPubSubDeadLetterSourceSubscriptionProject'], projectId);
    const sourcePublishTime = Date.parse(dl.attributes['CloudPubSubDeadLetterSourceTopicPublishTime'] ?? '');
    assert.ok(Math.abs(sourcePublishTime - published.getTime()) < 5_000, `source publish time ${dl.attributes['CloudPubSubDeadLetterSourceTopicPublishTime']}`);
  });

  // Measured with emulator 0.8.20: the FIRST nack of a message is redelivered after ~0.1 s
  // whatever minimumBackoff says (later ones wait ~4.6 s for a 3 s minimum), and with message
  // ordering the retry policy is ignored altogether. Real Pub/Sub waits minimumBackoff.
  it('6: retry backoff is respected on the first nack', async (t) => {
    await knownEmulatorGap(t, 'the official emulator redelivers the first nack at once', async () => {
    const [topic] = await pubsub.createTopic(uniqueId('t6b'));
    const [sub] = await topic.createSubscription(uniqueId('s6b'), { retryPolicy: { minimumBackoff: { seconds: 3 }, maximumBackoff: { seconds: 10 } } });
    const l = listen(sub, (m, all) => (all.length === 1 ? m.nack() : m.ack()));
    try {
      await topic.publishMessage({ data: Buffer.from('back off') });
      await waitFor('redelivery', () => (l.received.length >= 2 ? true : undefined), 15_000);
    } finally {
      await l.close();
    }
    const [a, b] = l.received;
    assert.ok(a && b && b.at - a.at >= 2_500, `redelivered after ${b && a ? b.at - a.at : '?'} ms with a 3 s minimum backoff`);
    });
  });

  // Measured with emulator 0.8.20: after `first` is nacked, `second` (same key, already
  // delivered) is not redelivered after it; real Pub/Sub redelivers the nacked message and the
  // ones after it in order. Subscribers must not rely on the emulator for this.
  it('6: ordering per key holds across a redelivery', async (t) => {
    await knownEmulatorGap(t, 'the official emulator does not redeliver later messages of the key', async () => {
    const [topic] = await pubsub.createTopic(uniqueId('t6o'));
    const [sub] = await topic.createSubscription(uniqueId('s6o'), { enableMessageOrdering: true });
    const publisher = pubsub.topic(topic.name, { messageOrdering: true });
    let nacked = false;
    const l = listen(sub, (m) => {
      if (!nacked && m.data.toString() === 'first') {
        nacked = true;
        m.nack();
      } else m.ack();
    });
    try {
      await publisher.publishMessage({ data: Buffer.from('first'), orderingKey: 'k' });
      await publisher.publishMessage({ data: Buffer.from('second'), orderingKey: 'k' });
      // Too few deliveries is the gap showing (the emulator sometimes sits on the key after
      // the nack), so it is asserted below, not thrown here as a harness failure.
      await waitFor('3 deliveries', () => (l.received.length >= 3 ? true : undefined), 10_000).catch(() => undefined);
      await sleep(2_000);
    } finally {
      await l.close();
    }
    const order = l.received.map((r) => r.message.data.toString());
    // The harness itself must work: the first message arrives whatever the gap.
    if (!order.includes('first')) throw new Error(`nothing delivered on an ordered subscription (saw: ${order.join(', ') || 'none'})`);
    assert.ok(order.length >= 3, `${order.length} deliveries in 12 s, production gives first, first, second: ${order.join(', ')}`);
    assert.ok(order.lastIndexOf('second') > order.lastIndexOf('first'), `delivery order ${order.join(', ')}`);
    });
  });

  it('7: publishing to a missing topic is NOT_FOUND', async () => {
    await assert.rejects(pubsub.topic(uniqueId('missing')).publishMessage({ data: Buffer.from('x') }), (err: Error & { code?: number }) => {
      assert.equal(err.code, 5, err.message);
      return true;
    });
  });

  // Measured with emulator 0.8.20: 10 MiB + 1 byte of data is accepted, and 10.5 MiB is never
  // answered (the client gives up with DEADLINE_EXCEEDED after 60 s). Real Pub/Sub answers
  // INVALID_ARGUMENT; production code must not rely on the emulator to catch oversized messages.
  it('7: an oversized message is rejected', async (t) => {
    await knownEmulatorGap(t, 'the official emulator does not enforce the 10 MB limit', async () => {
    const [topic] = await pubsub.createTopic(uniqueId('t7'));
    await assert.rejects(topic.publishMessage({ data: Buffer.alloc(10 * 1024 * 1024 + 1, 'a') }));
    });
  });
});

describe('topologyNames', () => {
  const cases: { name: string; env: Record<string, string>; expected: Partial<TopologyNames> }[] = [
    { name: 'defaults', env: {}, expected: DEFAULT_NAMES },
    { name: 'BaseConfig variables', env: { JOBS_TOPIC: 'j2', COMPLETIONS_TOPIC: 'c2', DEAD_LETTER_TOPIC: 'd2', JOBS_SUBSCRIPTION: 'w2' }, expected: { jobsTopic: 'j2', completionsTopic: 'c2', deadLetterTopic: 'd2', deadLetterReviewSubscription: 'd2-review', jobsSubscription: 'w2' } },
    { name: 'empty means unset', env: { JOBS_TOPIC: '' }, expected: { jobsTopic: 'jobs' } },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual({ ...topologyNames(c.env), ...c.expected }, topologyNames(c.env)));
  }
  it('rejects a policy outside Pub/Sub limits', () => {
    assert.throws(() => describeTopology(DEFAULT_NAMES, { maxDeliveryAttempts: 4 }), /Expected integer between 5 and 100 for maxDeliveryAttempts but received 4/);
  });
});

/** Every name prefixed, so a test owns its whole topology on the shared emulator. */
function prefixed(prefix: string): TopologyNames {
  return Object.fromEntries(Object.entries(DEFAULT_NAMES).map(([k, v]) => [k, `${prefix}-${v}`])) as unknown as TopologyNames;
}

async function pullOne(client: v1.SubscriberClient, subscription: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [res] = await client.pull({ subscription, maxMessages: 1, returnImmediately: true });
    const got = res.receivedMessages?.[0];
    if (got) return got;
    await sleep(200);
  }
  throw new Error(`nothing pulled from ${subscription} within ${timeoutMs} ms`);
}
