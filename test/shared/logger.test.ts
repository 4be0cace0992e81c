import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../shared/logger.js';
import { buildCompletionEvent, fromPubSubMessage, toPubSubMessage } from '../../shared/completion.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('writes GCP structured logs with severity, message, job id and trace', () => {
    const { lines, stream } = capture();
    const log = createLogger({ component: 'test', projectId: 'p1' }, stream);
    log.child({ jobId: 'j1' }).warn({ event: 'job.slow', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }, 'slow job');
    const [line] = lines;
    assert.ok(line);
    assert.equal(line.severity, 'WARNING');
    assert.equal(line.message, 'slow job');
    assert.equal(line.jobId, 'j1');
    assert.equal(line.component, 'test');
    assert.equal(line['logging.googleapis.com/trace'], 'projects/p1/traces/4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(line.traceparent, undefined);
  });
});

describe('completion events on Pub/Sub', () => {
  it('round-trips through the binary-mode binding', () => {
    const event = buildCompletionEvent('//petcutout/test', {
      schemaVersion: 1,
      jobId: 'a'.repeat(32),
      outcome: 'failed',
      source: { bucket: 'b', name: 'uploads/x/original' },
      error: { code: 'dead_lettered', message: 'gave up after 5 attempts', retryable: false },
      completedAt: new Date(0).toISOString(),
    });
    const msg = toPubSubMessage(event);
    assert.equal(msg.attributes['ce-id'], `${'a'.repeat(32)}:failed`);
    assert.equal(msg.attributes['ce-type'], 'com.petcutout.job.completed.v1');
    assert.deepEqual(fromPubSubMessage(msg), event);
  });
  it('rejects a message without ce- attributes, naming them', () => {
    assert.throws(() => fromPubSubMessage({ data: Buffer.from('{}'), attributes: {} }), /specversion/);
  });
});
