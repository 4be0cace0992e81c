import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BaseConfig, ConfigError, loadConfigOrExit, parseConfig } from '../../shared/config.js';

const good = { GOOGLE_CLOUD_PROJECT: 'petcutout-local', UPLOADS_BUCKET: 'uploads-bkt', RESULTS_BUCKET: 'results-bkt' };

describe('parseConfig', () => {
  it('applies defaults', () => {
    const cfg = parseConfig(BaseConfig, good);
    assert.equal(cfg.JOBS_TOPIC, 'jobs');
    assert.equal(cfg.LOG_LEVEL, 'info');
  });
  it('reports every bad variable together', () => {
    assert.throws(
      () => parseConfig(BaseConfig, { GOOGLE_CLOUD_PROJECT: 'X', RESULTS_BUCKET: 'ok-bucket', LOG_LEVEL: 'loud', PUBSUB_EMULATOR_HOST: 'nope' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 4);
        assert.match(err.message, /invalid configuration \(4 problems\)/);
        assert.match(err.message, /GOOGLE_CLOUD_PROJECT: expected a project id \(got "X"\)/);
        assert.match(err.message, /UPLOADS_BUCKET: /);
        assert.match(err.message, /LOG_LEVEL: /);
        assert.match(err.message, /PUBSUB_EMULATOR_HOST: expected host:port/);
        return true;
      },
    );
  });
  it('treats empty strings as unset', () => {
    assert.equal(parseConfig(BaseConfig, { ...good, JOBS_TOPIC: '' }).JOBS_TOPIC, 'jobs');
  });
});

describe('loadConfigOrExit', () => {
  it('writes one readable message and exits 78', () => {
    let written = '';
    let code = -1;
    assert.throws(() =>
      loadConfigOrExit(
        BaseConfig,
        {},
        (c) => {
          code = c;
          throw new Error('exited');
        },
        (t) => (written += t),
      ),
    /exited/);
    assert.equal(code, 78);
    assert.match(written, /^invalid configuration \(3 problems\):\n {2}- GOOGLE_CLOUD_PROJECT: /);
  });
});
