import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchJobId, isJobId, newJobId } from '../../shared/ids.js';
import { triggerFor, uploadObjectName } from '../../shared/paths.js';

describe('ids', () => {
  it('newJobId is 128 random bits', () => {
    const ids = new Set(Array.from({ length: 1000 }, newJobId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.ok(isJobId(id));
  });
  it('batchJobId is deterministic per bucket, object and generation', () => {
    const a = batchJobId('b', 'batch/x.jpg', '1');
    assert.equal(a, batchJobId('b', 'batch/x.jpg', '1'));
    assert.notEqual(a, batchJobId('b', 'batch/x.jpg', '2'));
    assert.notEqual(a, batchJobId('b2', 'batch/x.jpg', '1'));
    assert.notEqual(batchJobId('ab', 'c', '1'), batchJobId('a', 'bc', '1'));
    assert.ok(isJobId(a));
  });
  it('rejects path tricks', () => {
    for (const bad of ['../x', 'A'.repeat(32), '', '0'.repeat(31), `${'0'.repeat(32)}/`]) assert.equal(isJobId(bad), false);
  });
});

describe('paths', () => {
  it('the trigger acts only on uploads/ and batch/', () => {
    assert.equal(triggerFor(uploadObjectName('0'.repeat(32))), 'upload');
    assert.equal(triggerFor('batch/a/b.jpg'), 'batch');
    assert.equal(triggerFor('batch/folder/'), undefined);
    assert.equal(triggerFor('jobs/x/cutout.png'), undefined);
    assert.equal(triggerFor('cache/k/mask.png'), undefined);
  });
});
