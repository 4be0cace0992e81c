import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FunctionsConfig } from '../../functions/config.js';
import { CLIENT_REF_META, OUTPUTS_META } from '../../functions/upload-metadata.js';
import { WorkerConfig } from '../../gpu-worker/config.js';
import { JOBS_PREFIX, outputObjectName } from '../../shared/paths.js';
import { TERRAFORM_DIR, blocks, child, dynamicContent, isBlock, loadTerraform, one, references, resolveLocal, resource, resourcesOfType, type Block, type Expression } from './hcl.js';

const model = await loadTerraform();

const FUNCTIONS = ['create_upload', 'get_status', 'on_object_finalized', 'on_dead_letter'] as const;

/** The keys of an HCL object written in an expression (`KEY = value` lines), e.g. an env map. */
function envKeys(expression: unknown): string[] {
  if (typeof expression === 'object' && expression !== null) return Object.keys(expression); // a literal map
  return [...String(expression).matchAll(/^\s*(?:merge\(\S+,\s*\{)?\s*([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1] ?? '');
}

/** Every string inside a value, as expressions for `references`. */
function stringsIn(value: unknown, out: Expression[] = []): Expression[] {
  if (typeof value === 'string') out.push({ file: '', path: '', text: value });
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (isBlock(value)) for (const v of Object.values(value)) stringsIn(v, out);
  return out;
}

/** `"${local.a.b}"` -> the value of key b of local a; anything else as is. */
function resolveLocalKey(value: unknown): unknown {
  const m = typeof value === 'string' ? /^\$\{local\.([\w-]+)\.([\w-]+)\}$/.exec(value) : null;
  if (!m) return value;
  const local = model.locals.get(m[1] ?? '');
  return isBlock(local) ? local[m[2] ?? ''] : value;
}

/** `"${google_service_account.x.email}"` -> "x" */
function serviceAccountName(value: unknown): string | undefined {
  return typeof value === 'string' ? /^\$\{google_service_account\.([\w-]+)\.(?:email|member|name|id)\}$/.exec(value)?.[1] : undefined;
}

describe('terraform: files and references', () => {
  it('is split into the agreed files', () => {
    for (const f of ['versions.tf', 'variables.tf', 'storage.tf', 'pubsub.tf', 'functions.tf', 'gateway.tf', 'worker.tf', 'iam.tf', 'monitoring.tf', 'outputs.tf']) {
      assert.ok(model.files.includes(f), `terraform/${f} is missing`);
    }
  });

  it('declares every variable it references, and references every variable it declares', () => {
    const refs = references(model.expressions);
    const undeclared = [...refs.variables].filter((v) => !model.variables.has(v));
    assert.deepEqual(undeclared, [], `referenced but not declared: ${undeclared.join(', ')}`);
    const unused = [...model.variables.keys()].filter((v) => !refs.variables.has(v));
    assert.deepEqual(unused, [], `declared but never used: ${unused.join(', ')}`);
  });

  it('declares every local it references', () => {
    const missing = [...references(model.expressions).locals].filter((l) => !model.locals.has(l));
    assert.deepEqual(missing, []);
  });

  it('declares every resource and data source it references', () => {
    const refs = references(model.expressions);
    const missingResources = [...refs.resources].filter((r) => {
      const [type = '', name = ''] = r.split('.');
      return !model.resources.get(type)?.has(name);
    });
    assert.deepEqual(missingResources, [], `referenced resources not declared: ${missingResources.join(', ')}`);
    const missingData = [...refs.data].filter((r) => {
      const [type = '', name = ''] = r.split('.');
      return !model.data.get(type)?.has(name);
    });
    assert.deepEqual(missingData, [], `referenced data sources not declared: ${missingData.join(', ')}`);
  });

  it('gives every variable a description, and every non-boolean variable a validation', () => {
    for (const [name, v] of model.variables) {
      assert.equal(typeof v['description'], 'string', `variable ${name} has no description`);
      assert.ok(String(v['description']).trim().length > 10, `variable ${name}: description too short`);
      if (v['type'] !== '${bool}') assert.ok(blocks(v['validation']).length > 0, `variable ${name} has no validation block`);
      for (const val of blocks(v['validation'])) {
        assert.match(String(val['condition']), new RegExp(`var\\.${name}\\b`), `variable ${name}: its validation does not test it`);
        assert.ok(String(val['error_message']).length > 10, `variable ${name}: validation without a useful error_message`);
      }
    }
  });

  it('gives every output a description', () => {
    assert.ok(model.outputs.size > 0);
    for (const [name, o] of model.outputs) assert.equal(typeof o['description'], 'string', `output ${name} has no description`);
    for (const required of ['uploads_bucket', 'results_bucket', 'gateway_url', 'create_upload_url', 'get_status_url', 'topics', 'worker_url']) {
      assert.ok(model.outputs.has(required), `output ${required} is missing`);
    }
  });

  it('pins the providers it uses', () => {
    const text = model.strings.filter((s) => s.file === 'versions.tf' && s.path.includes('required_providers')).map((s) => s.text);
    assert.ok(text.includes('hashicorp/google'));
    assert.ok(text.includes('hashicorp/google-beta'));
    assert.ok(text.includes('hashicorp/archive'));
  });

  it('has no dependency cycle between resources, data sources and locals', () => {
    // Nodes are "resource.type.name", "data.type.name" and "local.name"; a cycle is what
    // `terraform plan` would refuse (e.g. createUpload's env -> gateway -> config -> createUpload).
    const edges = new Map<string, string[]>();
    const refsOf = (body: unknown) => {
      const refs = references(stringsIn(body));
      return [...[...refs.resources].map((r) => `resource.${r}`), ...[...refs.data].map((d) => `data.${d}`), ...[...refs.locals].map((l) => `local.${l}`)];
    };
    for (const [type, byName] of model.resources) for (const [name, body] of byName) edges.set(`resource.${type}.${name}`, refsOf(body));
    for (const [type, byName] of model.data) for (const [name, body] of byName) edges.set(`data.${type}.${name}`, refsOf(body));
    for (const [name, value] of model.locals) edges.set(`local.${name}`, refsOf(value));
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return;
      assert.notEqual(state.get(node), 'visiting', `dependency cycle: ${[...path.slice(path.indexOf(node)), node].join(' -> ')}`);
      state.set(node, 'visiting');
      for (const next of edges.get(node) ?? []) if (next !== node) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of edges.keys()) visit(node, []);
  });
});

describe('terraform: access', () => {
  it('grants no primitive role anywhere', () => {
    const primitive = model.strings.filter((s) => /roles\/(owner|editor|viewer)\b/.test(s.text));
    assert.deepEqual(
      primitive.map((s) => `${s.file}: ${s.path}`),
      [],
    );
  });

  it('makes nothing public: no allUsers or allAuthenticatedUsers anywhere', () => {
    const PUBLIC = /\ballUsers\b|\ballAuthenticatedUsers\b/;
    assert.deepEqual(
      model.strings.filter((s) => PUBLIC.test(s.text)).map((s) => `${s.file}: ${s.path}`),
      [],
    );
    // Also outside parsed values (heredocs, templates): every line of every file but comments.
    for (const file of model.files) {
      const code = readFileSync(join(TERRAFORM_DIR, file), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(#|\/\/)/.test(line));
      assert.deepEqual(
        code.filter((line) => PUBLIC.test(line)),
        [],
        `terraform/${file}`,
      );
    }
  });

  it('lets only the gateway invoke createUpload and getStatus, each on its own service', () => {
    const invokers = resourcesOfType(model, 'google_cloud_run_v2_service_iam_member')
      .filter(([, b]) => /google_cloudfunctions2_function\.(create_upload|get_status)\b/.test(String(b['name'])))
      .map(([, b]) => `${String(b['name'])} <- ${String(b['role'])} for ${serviceAccountName(b['member']) ?? String(b['member'])}`)
      .sort();
    assert.deepEqual(invokers, [
      '${google_cloudfunctions2_function.create_upload.service_config[0].service} <- roles/run.invoker for gateway',
      '${google_cloudfunctions2_function.get_status.service_config[0].service} <- roles/run.invoker for gateway',
    ]);
    const gatewayGrants = model.strings.filter((s) => s.path.endsWith('.member') && serviceAccountName(s.text) === 'gateway').map((s) => s.path);
    assert.deepEqual(gatewayGrants.sort(), [
      'resource.google_cloud_run_v2_service_iam_member.gateway_invokes_create_upload.member',
      'resource.google_cloud_run_v2_service_iam_member.gateway_invokes_get_status.member',
    ]);
    for (const type of [
      'google_cloud_run_v2_service_iam_binding',
      'google_cloud_run_v2_service_iam_policy',
      'google_cloud_run_service_iam_member',
      'google_cloud_run_service_iam_binding',
      'google_cloud_run_service_iam_policy',
      'google_cloudfunctions2_function_iam_member',
      'google_cloudfunctions2_function_iam_binding',
      'google_cloudfunctions2_function_iam_policy',
    ]) {
      assert.equal(model.resources.get(type), undefined, `${type}: invocation is granted on the Cloud Run service, to the gateway only`);
    }
    const backend = child(resource(model, 'google_api_gateway_api_config', 'storefront'), 'gateway_config', 'backend_config');
    assert.equal(backend['google_service_account'], '${google_service_account.gateway.email}');
  });

  it('runs each function as its own service account, used by no other component', () => {
    const accounts = FUNCTIONS.map((fn) => serviceAccountName(child(resource(model, 'google_cloudfunctions2_function', fn), 'service_config')['service_account_email']));
    for (const [i, sa] of accounts.entries()) {
      assert.ok(sa, `${FUNCTIONS[i]} does not run as one of our service accounts`);
      resource(model, 'google_service_account', sa);
    }
    assert.equal(new Set(accounts).size, FUNCTIONS.length, `functions share service accounts: ${accounts.join(', ')}`);
    const worker = serviceAccountName(child(resource(model, 'google_cloud_run_v2_service', 'worker'), 'template')['service_account']);
    const pool = serviceAccountName(child(resource(model, 'google_cloud_run_v2_worker_pool', 'worker'), 'template')['service_account']);
    assert.equal(worker, pool);
    assert.ok(worker && !accounts.includes(worker), 'the worker must have its own service account');
    const triggers = FUNCTIONS.flatMap((fn) => blocks(resource(model, 'google_cloudfunctions2_function', fn)['event_trigger']));
    assert.equal(triggers.length, 2);
    for (const t of triggers) {
      const sa = serviceAccountName(t['service_account_email']);
      assert.ok(sa && !accounts.includes(sa) && sa !== worker, 'Eventarc triggers need their own identity');
    }
  });

  it('lets only the signing functions mint tokens, each as itself (plus the Pub/Sub agent for push OIDC)', () => {
    const grants = resourcesOfType(model, 'google_service_account_iam_member').filter(([, b]) => b['role'] === 'roles/iam.serviceAccountTokenCreator');
    const summary = grants.map(([, b]) => `${serviceAccountName(b['service_account_id'])} <- ${serviceAccountName(b['member']) ?? String(b['member'])}`).sort();
    assert.deepEqual(summary, ['create_upload <- create_upload', 'get_status <- get_status', 'pubsub_push <- ${local.pubsub_agent}']);
  });

  it('binds roles at project level only where no narrower scope exists', () => {
    const projectRoles = resourcesOfType(model, 'google_project_iam_member')
      .map(([, b]) => String(b['role']))
      .sort();
    assert.deepEqual(projectRoles, ['roles/cloudbuild.builds.builder', 'roles/eventarc.eventReceiver', 'roles/pubsub.publisher']);
    for (const type of ['google_project_iam_binding', 'google_project_iam_policy', 'google_storage_bucket_iam_binding', 'google_storage_bucket_iam_policy']) {
      assert.equal(model.resources.get(type), undefined, `${type} is authoritative and would remove grants made elsewhere`);
    }
  });

  it('lets the Pub/Sub service agent publish dead letters and ack on the worker subscription', () => {
    assert.match(String(model.locals.get('pubsub_agent')), /service-\$\{data\.google_project\.this\.number\}@gcp-sa-pubsub\.iam\.gserviceaccount\.com/);
    const publish = resource(model, 'google_pubsub_topic_iam_member', 'pubsub_agent_publishes_dead_letters');
    assert.equal(publish['topic'], '${google_pubsub_topic.dead_letter.name}');
    assert.equal(publish['role'], 'roles/pubsub.publisher');
    assert.equal(publish['member'], '${local.pubsub_agent}');
    const ack = resource(model, 'google_pubsub_subscription_iam_member', 'pubsub_agent_acks_dead_lettered_jobs');
    assert.equal(ack['subscription'], '${google_pubsub_subscription.jobs_worker.name}');
    assert.equal(ack['role'], 'roles/pubsub.subscriber');
    assert.equal(ack['member'], '${local.pubsub_agent}');
  });

  it('lets the worker publish to each topic it publishes to: completions, dead letters for unreadable messages, jobs whose deliveries were lost', () => {
    const topics = resourcesOfType(model, 'google_pubsub_topic_iam_member')
      .filter(([, b]) => b['member'] === '${google_service_account.worker.member}')
      .map(([, b]) => `${String(b['topic'])} ${String(b['role'])}`)
      .sort();
    assert.deepEqual(topics, [
      '${google_pubsub_topic.completions.name} roles/pubsub.publisher',
      '${google_pubsub_topic.dead_letter.name} roles/pubsub.publisher',
      '${google_pubsub_topic.jobs.name} roles/pubsub.publisher',
    ]);
  });

  it('lets fulfilment systems pull their subscription and read job outputs, and nothing more', () => {
    const pull = resource(model, 'google_pubsub_subscription_iam_member', 'fulfilment_pulls_completions');
    assert.equal(pull['for_each'], '${toset(var.fulfilment_members)}');
    assert.equal(pull['subscription'], '${google_pubsub_subscription.completions_fulfilment.name}');
    assert.equal(pull['role'], 'roles/pubsub.subscriber');
    const read = resource(model, 'google_storage_bucket_iam_member', 'fulfilment_reads_outputs');
    assert.equal(read['for_each'], '${toset(var.fulfilment_members)}');
    assert.equal(read['bucket'], '${google_storage_bucket.results.name}');
    assert.equal(read['role'], 'roles/storage.objectViewer');
    // The condition's prefix is where the worker writes outputs (shared/paths.ts), not cache/.
    const expression = String(one(read['condition'], 'condition')['expression']);
    assert.ok(expression.includes(`/objects/${JOBS_PREFIX}`), expression);
    assert.ok(outputObjectName('0'.repeat(32), 'cutout').startsWith(JOBS_PREFIX));
  });

  it('lets getStatus see an upload (for its 202 received) without listing or writing the uploads bucket', () => {
    const sees = resource(model, 'google_storage_bucket_iam_member', 'get_status_sees_uploads');
    assert.equal(sees['bucket'], '${google_storage_bucket.uploads.name}');
    assert.equal(sees['member'], '${google_service_account.get_status.member}');
    // objects.get alone: objectViewer would add listing every shopper's upload.
    assert.equal(sees['role'], 'roles/storage.legacyObjectReader');
  });

  it('lets the Cloud Storage service agent publish events for the storage trigger', () => {
    const b = resource(model, 'google_project_iam_member', 'gcs_agent_publishes_events');
    assert.equal(b['role'], 'roles/pubsub.publisher');
    assert.match(String(b['member']), /data\.google_storage_project_service_account\.gcs\.email_address/);
  });
});

describe('terraform: storage', () => {
  it('enforces public access prevention and uniform access on every bucket', () => {
    const buckets = resourcesOfType(model, 'google_storage_bucket');
    assert.deepEqual(buckets.map(([n]) => n).sort(), ['results', 'sources', 'uploads']);
    for (const [name, b] of buckets) {
      assert.equal(b['public_access_prevention'], 'enforced', `bucket ${name}`);
      assert.equal(b['uniform_bucket_level_access'], true, `bucket ${name}`);
      assert.equal(child(b, 'versioning')['enabled'], false, `bucket ${name}: versioning must be off`);
    }
  });

  it('allows browser PUTs to the uploads bucket from the storefront origins, with every header createUpload signs', () => {
    const cors = one(resource(model, 'google_storage_bucket', 'uploads')['cors'], 'cors');
    assert.equal(cors['origin'], '${var.allowed_origins}');
    assert.deepEqual(cors['method'], ['PUT']);
    // The preflight must allow each signed header the browser sends (functions/create-upload.ts).
    assert.deepEqual([...(cors['response_header'] as string[])].sort(), ['content-type', 'x-goog-content-length-range', `x-goog-meta-${CLIENT_REF_META}`, `x-goog-meta-${OUTPUTS_META}`].sort());
  });

  it('expires originals, status documents and the cache by prefix', () => {
    const prefixes = (bucket: string) =>
      blocks(resource(model, 'google_storage_bucket', bucket)['lifecycle_rule']).flatMap((rule) => {
        const action = child(rule, 'action');
        const condition = child(rule, 'condition');
        return action['type'] === 'Delete' ? ((condition['matches_prefix'] as string[] | undefined) ?? []).map((p) => `${p}:${String(condition['age'])}`) : [];
      });
    assert.ok(prefixes('uploads').includes('uploads/:${var.upload_retention_days}'));
    assert.ok(prefixes('results').includes('jobs/:${var.job_retention_days}'));
    assert.ok(prefixes('results').includes('cache/:${var.cache_retention_days}'));
  });

  it('encrypts with the optional CMEK key only when one is given', () => {
    for (const name of ['uploads', 'results']) {
      const [enc] = blocks((resource(model, 'google_storage_bucket', name)['dynamic'] as Block | undefined)?.['encryption']);
      assert.ok(enc, `bucket ${name} has no dynamic encryption block`);
      assert.match(String(enc['for_each']), /var\.kms_key_name == null \? \[\]/);
    }
  });
});

describe('terraform: pub/sub', () => {
  const sub = resource(model, 'google_pubsub_subscription', 'jobs_worker');

  it('gives the jobs subscription a dead-letter policy and a retry policy', () => {
    const dlq = child(sub, 'dead_letter_policy');
    assert.equal(dlq['dead_letter_topic'], '${google_pubsub_topic.dead_letter.id}');
    assert.equal(dlq['max_delivery_attempts'], '${var.job_max_delivery_attempts}');
    const retry = child(sub, 'retry_policy');
    assert.ok(retry['minimum_backoff'] && retry['maximum_backoff']);
    assert.equal(sub['topic'], '${google_pubsub_topic.jobs.id}');
    assert.equal(sub['ack_deadline_seconds'], '${var.job_ack_deadline_seconds}');
    assert.equal(child(sub, 'expiration_policy')['ttl'], '');
  });

  it('pushes to the worker with an OIDC token in push mode only', () => {
    const [push] = dynamicContent(sub, 'push_config');
    assert.ok(push, 'no dynamic push_config');
    assert.match(String(push['push_endpoint']), /\/pubsub\/push$/);
    const oidc = child(push, 'oidc_token');
    assert.equal(oidc['service_account_email'], '${google_service_account.pubsub_push.email}');
    const forEach = String(blocks((sub['dynamic'] as Block)['push_config'])[0]?.['for_each']);
    assert.match(forEach, /local\.push_mode \?/);
    const invoker = resource(model, 'google_cloud_run_v2_service_iam_member', 'pubsub_push_invokes_worker');
    assert.equal(invoker['role'], 'roles/run.invoker');
    assert.equal(invoker['member'], '${google_service_account.pubsub_push.member}');
  });

  it('has topics for jobs, completions and dead letters, and the example and review subscriptions', () => {
    for (const t of ['jobs', 'completions', 'dead_letter']) assert.ok(resource(model, 'google_pubsub_topic', t)['message_retention_duration']);
    assert.equal(resource(model, 'google_pubsub_subscription', 'completions_fulfilment')['topic'], '${google_pubsub_topic.completions.id}');
    assert.equal(resource(model, 'google_pubsub_subscription', 'dead_letter_review')['topic'], '${google_pubsub_topic.dead_letter.id}');
  });
});

describe('terraform: functions', () => {
  it('deploys the four targets on nodejs20 from the bundled source archive', () => {
    const entryPoints = FUNCTIONS.map((fn) => {
      const build = child(resource(model, 'google_cloudfunctions2_function', fn), 'build_config');
      assert.equal(build['runtime'], 'nodejs20');
      assert.equal(child(build, 'source', 'storage_source')['object'], '${google_storage_bucket_object.functions_source.name}');
      return build['entry_point'];
    });
    assert.deepEqual(entryPoints, ['createUpload', 'getStatus', 'onObjectFinalized', 'onDeadLetter']);
    const archive = model.data.get('archive_file')?.get('functions');
    assert.ok(archive);
    assert.match(String(model.locals.get('functions_source_dir')), /dist\/functions/);
  });

  it('triggers onObjectFinalized on the uploads bucket, with retries', () => {
    const t = child(resource(model, 'google_cloudfunctions2_function', 'on_object_finalized'), 'event_trigger');
    assert.equal(t['event_type'], 'google.cloud.storage.object.v1.finalized');
    assert.equal(t['retry_policy'], 'RETRY_POLICY_RETRY');
    assert.deepEqual(one(t['event_filters'], 'event_filters'), { attribute: 'bucket', value: '${google_storage_bucket.uploads.name}' });
  });

  it('triggers onDeadLetter from the dead-letter topic', () => {
    const t = child(resource(model, 'google_cloudfunctions2_function', 'on_dead_letter'), 'event_trigger');
    assert.equal(t['event_type'], 'google.cloud.pubsub.topic.v1.messagePublished');
    assert.equal(t['pubsub_topic'], '${google_pubsub_topic.dead_letter.id}');
    assert.equal(t['retry_policy'], 'RETRY_POLICY_RETRY');
  });

  it("points createUpload's status URLs at the gateway, which routes /jobs/{jobId} to getStatus", () => {
    const env = String(child(resource(model, 'google_cloudfunctions2_function', 'create_upload'), 'service_config')['environment_variables']);
    assert.match(env, /PUBLIC_BASE_URL\s*=\s*local\.gateway_url\b/);
    assert.equal(model.locals.get('gateway_url'), 'https://${google_api_gateway_gateway.storefront.default_hostname}');
  });

  it('keeps the event functions internal', () => {
    for (const fn of ['on_object_finalized', 'on_dead_letter']) {
      assert.equal(child(resource(model, 'google_cloudfunctions2_function', fn), 'service_config')['ingress_settings'], 'ALLOW_INTERNAL_ONLY');
    }
  });
});

describe('terraform: API gateway', () => {
  const HTTP = { create_upload: 'create-upload', get_status: 'get-status' } as const;
  const openapi = model.locals.get('openapi') as Block;
  const paths = openapi['paths'] as Record<string, Block>;

  it('routes GET, POST and OPTIONS /uploads to createUpload, GET and OPTIONS /jobs/{jobId} to getStatus', () => {
    assert.equal(openapi['swagger'], '2.0');
    const routes = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([key]) => key !== 'parameters')
        .map(([method, op]) => `${method.toUpperCase()} ${path} -> ${String((op as Block)['x-google-backend'])}`),
    );
    assert.deepEqual(routes.sort(), [
      'GET /jobs/{jobId} -> ${local.gateway_backend.get_status}',
      'GET /uploads -> ${local.gateway_backend.create_upload}',
      'OPTIONS /jobs/{jobId} -> ${local.gateway_backend.get_status}',
      'OPTIONS /uploads -> ${local.gateway_backend.create_upload}',
      'POST /uploads -> ${local.gateway_backend.create_upload}',
    ]);
    const ids = Object.values(paths).flatMap((item) => Object.values(item).map((op) => (op as Block)['operationId']));
    assert.equal(new Set(ids).size, 5, `operationIds must be unique: ${ids.join(', ')}`);
    for (const method of ['get', 'options']) {
      const params = (paths['/jobs/{jobId}']?.[method] as Block)['parameters'] as unknown[];
      assert.deepEqual(
        params.map((p) => resolveLocal(model, p)),
        [{ name: 'jobId', in: 'path', required: true, type: 'string' }],
        `${method} /jobs/{jobId}`,
      );
    }
  });

  it('sends each route to its function by deterministic Cloud Run URL, path appended, with an ID token for that URL', () => {
    for (const fn of ['create_upload', 'get_status'] as const) {
      const backend = resolveLocalKey(`\${local.gateway_backend.${fn}}`) as Block;
      assert.deepEqual(backend, {
        address: `\${local.run_url.${fn}}`,
        jwt_audience: `\${local.run_url.${fn}}`,
        path_translation: 'APPEND_PATH_TO_ADDRESS',
        deadline: '${local.http_timeout_seconds}',
      });
      assert.equal(resolveLocalKey(`\${local.run_url.${fn}}`), `https://\${local.http_functions.${fn}}-\${data.google_project.this.number}.\${var.region}.run.app`);
      // Gen2 functions run as the Cloud Run service of the same name: that is the URL's SERVICE.
      assert.equal(resolveLocalKey(`\${local.http_functions.${fn}}`), HTTP[fn]);
      assert.equal(resource(model, 'google_cloudfunctions2_function', fn)['name'], `\${local.http_functions.${fn}}`);
      assert.equal(child(resource(model, 'google_cloudfunctions2_function', fn), 'service_config')['timeout_seconds'], '${local.http_timeout_seconds}');
    }
  });

  it('requires no API key (browsers call it) and no other security', () => {
    assert.equal(openapi['securityDefinitions'], undefined);
    assert.equal(openapi['security'], undefined);
    for (const item of Object.values(paths)) for (const op of Object.values(item)) if (isBlock(op)) assert.equal(op['security'], undefined);
  });

  it('deploys the document as an immutable config behind a gateway, with the beta provider', () => {
    const config = resource(model, 'google_api_gateway_api_config', 'storefront');
    const doc = child(config, 'openapi_documents', 'document');
    assert.equal(doc['contents'], '${base64encode(yamlencode(local.openapi))}');
    assert.equal(child(config, 'lifecycle')['create_before_destroy'], true);
    assert.ok(config['api_config_id_prefix'], 'configs cannot be updated in place: each needs a fresh id');
    assert.equal(config['api'], '${google_api_gateway_api.storefront.api_id}');
    const gateway = resource(model, 'google_api_gateway_gateway', 'storefront');
    assert.equal(gateway['api_config'], '${google_api_gateway_api_config.storefront.id}');
    assert.equal(gateway['region'], '${local.gateway_region}');
    assert.equal(model.locals.get('gateway_region'), '${coalesce(var.gateway_region, var.region)}');
    for (const type of ['google_api_gateway_api', 'google_api_gateway_api_config', 'google_api_gateway_gateway']) {
      for (const [name, body] of resourcesOfType(model, type)) assert.equal(body['provider'], '${google-beta}', `${type}.${name}`);
    }
    const apis = model.locals.get('project_apis') as string[];
    for (const api of ['apigateway.googleapis.com', 'servicemanagement.googleapis.com', 'servicecontrol.googleapis.com']) assert.ok(apis.includes(api), `${api} is not enabled`);
    assert.equal(model.outputs.get('gateway_url')?.['value'], '${local.gateway_url}');
  });
});

describe('terraform: environment matches the code', () => {

  // Issue 17 item 10: express and functions-framework answer errors with stack traces unless
  // NODE_ENV is production.
  it('runs every function with NODE_ENV=production, and the worker without the functions-only variable', () => {
    for (const fn of FUNCTIONS) {
      const env = String(child(resource(model, 'google_cloudfunctions2_function', fn), 'service_config')['environment_variables']);
      assert.match(env, /^\$\{(?:merge\()?local\.functions_env\b/, `${fn} does not start from local.functions_env: ${env}`);
    }
    const functionsEnv = model.locals.get('functions_env') as unknown;
    assert.match(String(functionsEnv), /^\$\{merge\(local\.base_env,\s*\{[^}]*\bNODE_ENV\s*=\s*"production"/, String(functionsEnv));
    assert.ok(!envKeys(model.locals.get('base_env')).includes('NODE_ENV'));
  });

  it('sets only variables the functions read (functions/config.ts)', () => {
    // NODE_ENV is read by express and functions-framework, not by our configuration.
    const known = new Set([...Object.keys(FunctionsConfig.shape), 'NODE_ENV']);
    const base = envKeys(model.locals.get('base_env'));
    assert.ok(base.includes('GOOGLE_CLOUD_PROJECT') && base.includes('UPLOADS_BUCKET') && base.includes('DEAD_LETTER_TOPIC'), `base_env: ${base.join(', ')}`);
    for (const fn of FUNCTIONS) {
      const keys = [...base, ...envKeys(child(resource(model, 'google_cloudfunctions2_function', fn), 'service_config')['environment_variables'])];
      const unknown = keys.filter((k) => !known.has(k));
      assert.deepEqual(unknown, [], `${fn} sets variables no code reads`);
    }
  });

  it('sets only variables the worker reads (gpu-worker/config.ts)', () => {
    const known = new Set(Object.keys(WorkerConfig.shape));
    const keys = [...envKeys(model.locals.get('base_env')), ...envKeys(model.locals.get('worker_env')), 'JOBS_SUBSCRIPTION', 'PORT'];
    assert.ok(keys.includes('MODEL_SHA256') && keys.includes('WORKER_MODE'), `worker_env: ${keys.join(', ')}`);
    assert.deepEqual(
      keys.filter((k) => !known.has(k)),
      [],
    );
  });
});

describe('terraform: worker', () => {
  const service = resource(model, 'google_cloud_run_v2_service', 'worker');
  const pool = resource(model, 'google_cloud_run_v2_worker_pool', 'worker');

  for (const [kind, body] of [
    ['service (push)', service],
    ['worker pool (pull)', pool],
  ] as const) {
    it(`${kind}: one NVIDIA L4, at least 4 CPU and 16 GiB, probes on /readyz and /healthz`, () => {
      const template = child(body, 'template');
      assert.equal(child(template, 'node_selector')['accelerator'], 'nvidia-l4');
      assert.equal(template['gpu_zonal_redundancy_disabled'], true);
      const container = one(template['containers'], 'containers');
      const limits = resolveLocal(model, child(container, 'resources')['limits']) as Block;
      assert.equal(limits['nvidia.com/gpu'], '1');
      assert.equal(limits['cpu'], '${tostring(var.worker_cpu)}');
      assert.equal(limits['memory'], '${var.worker_memory_gib}Gi');
      assert.equal(child(container, 'startup_probe', 'http_get')['path'], '/readyz');
      assert.equal(child(container, 'liveness_probe', 'http_get')['path'], '/healthz');
      assert.equal(container['image'], '${var.worker_image}');
    });
  }

  it('bounds CPU and memory to what Cloud Run requires with a GPU', () => {
    assert.match(String(one(model.variables.get('worker_cpu')?.['validation'], 'validation')['condition']), /\[4, 6, 8\]/);
    assert.match(String(one(model.variables.get('worker_memory_gib')?.['validation'], 'validation')['condition']), /var\.worker_memory_gib >= 16/);
  });

  it('push mode: a service that scales to zero, CPU always allocated, concurrency = batch size', () => {
    assert.equal(service['count'], '${var.worker_mode == "push" ? 1 : 0}');
    const template = child(service, 'template');
    const scaling = child(template, 'scaling');
    assert.equal(scaling['min_instance_count'], 0);
    assert.equal(scaling['max_instance_count'], '${var.worker_max_instances}');
    assert.equal(template['max_instance_request_concurrency'], '${var.worker_max_batch_size}');
    const resources = child(one(template['containers'], 'containers'), 'resources');
    assert.equal(resources['cpu_idle'], false);
    assert.equal(service['ingress'], 'INGRESS_TRAFFIC_INTERNAL_ONLY');
  });

  it('pull mode: a worker pool with a fixed instance count, pulling the jobs subscription', () => {
    assert.equal(pool['count'], '${var.worker_mode == "pull" ? 1 : 0}');
    const scaling = child(pool, 'scaling');
    assert.equal(scaling['scaling_mode'], 'MANUAL');
    assert.equal(scaling['manual_instance_count'], '${var.worker_pull_instances}');
    const env = dynamicContent(one(child(pool, 'template')['containers'], 'containers'), 'env');
    assert.equal(env.length, 1);
    const forEach = String(blocks(((one(child(pool, 'template')['containers'], 'containers')['dynamic'] as Block)['env']))[0]?.['for_each']);
    assert.match(forEach, /JOBS_SUBSCRIPTION\s*=\s*google_pubsub_subscription\.jobs_worker\.name/);
  });

  it('passes the model and GPU settings to the worker', () => {
    const env = String(model.locals.get('worker_env'));
    for (const pair of [
      'MODEL_URI\\s*=\\s*var\\.model_uri',
      'MODEL_SHA256\\s*=\\s*var\\.model_sha256',
      'MODEL_PRESET\\s*=\\s*var\\.model_preset',
      'EXECUTION_PROVIDER\\s*=\\s*"cuda"',
      'REQUIRE_GPU\\s*=\\s*"true"',
      'WORKER_MODE\\s*=\\s*var\\.worker_mode',
      'MAX_BATCH_SIZE\\s*=\\s*tostring\\(var\\.worker_max_batch_size\\)',
    ]) {
      assert.match(env, new RegExp(pair));
    }
    assert.match(String(one(model.variables.get('model_sha256')?.['validation'], 'validation')['condition']), /\[0-9a-f\]\{64\}/);
  });
});

describe('terraform: operations', () => {
  const policies = resourcesOfType(model, 'google_monitoring_alert_policy');

  it('alerts on dead letters, old jobs, function errors and worker errors, to the configured channels', () => {
    assert.deepEqual(policies.map(([n]) => n).sort(), ['dead_letters_waiting', 'function_errors', 'oldest_job', 'worker_errors']);
    for (const [name, p] of policies) assert.equal(p['notification_channels'], '${var.notification_channels}', `alert ${name}`);
    const filter = (name: string) => String(child(one(resource(model, 'google_monitoring_alert_policy', name)['conditions'], 'conditions'), 'condition_threshold')['filter']);
    assert.match(filter('dead_letters_waiting'), /subscription\/num_undelivered_messages/);
    assert.equal(child(one(resource(model, 'google_monitoring_alert_policy', 'dead_letters_waiting')['conditions'], 'conditions'), 'condition_threshold')['threshold_value'], 0);
    assert.match(filter('oldest_job'), /subscription\/oldest_unacked_message_age/);
    assert.match(filter('oldest_job'), /google_pubsub_subscription\.jobs_worker\.name/);
    assert.match(filter('function_errors'), /response_code_class="5xx"/);
  });

  it('counts rejected uploads by code from the log', () => {
    const metric = resource(model, 'google_logging_metric', 'rejected_uploads');
    assert.equal(metric['filter'], 'jsonPayload.event="job.rejected"');
    assert.deepEqual(metric['label_extractors'], { code: 'EXTRACT(jsonPayload.code)' });
    assert.equal(one(child(metric, 'metric_descriptor')['labels'], 'labels')['key'], 'code');
  });
});

describe('terraform: formatting', () => {
  const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' });
  it('passes terraform fmt -check -recursive', { skip: terraform.error ? 'terraform is not on PATH' : false }, () => {
    const r = spawnSync('terraform', ['fmt', '-check', '-recursive', TERRAFORM_DIR], { encoding: 'utf8' });
    assert.equal(r.status, 0, `terraform fmt would change: ${r.stdout}${r.stderr}`);
  });
});
