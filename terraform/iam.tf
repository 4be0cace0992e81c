# Identity: one service account per component, each with only what it uses, bound on the
# bucket, topic, subscription or service concerned. Project-level bindings appear only
# where Google offers no narrower scope (marked below). No primitive roles anywhere.
#
# Nothing is public: no grant names allUsers or allAuthenticatedUsers (test/terraform checks).
# Shoppers' browsers, which have no Google identity, reach createUpload and getStatus through
# the API Gateway (gateway.tf); the gateway calls them as its own service account, the only
# member with roles/run.invoker on those two services.

locals {
  model_bucket = startswith(var.model_uri, "gs://") ? split("/", trimprefix(var.model_uri, "gs://"))[0] : null
}

resource "google_service_account" "create_upload" {
  account_id   = "${var.name_prefix}-create-upload"
  display_name = "createUpload function: signs upload URLs"
  project      = var.project_id
}

resource "google_service_account" "get_status" {
  account_id   = "${var.name_prefix}-get-status"
  display_name = "getStatus function: reads status, signs download URLs"
  project      = var.project_id
}

resource "google_service_account" "on_finalized" {
  account_id   = "${var.name_prefix}-on-finalized"
  display_name = "onObjectFinalized function: validates uploads, publishes jobs"
  project      = var.project_id
}

resource "google_service_account" "on_dead_letter" {
  account_id   = "${var.name_prefix}-on-dead-letter"
  display_name = "onDeadLetter function: records failed jobs"
  project      = var.project_id
}

resource "google_service_account" "worker" {
  account_id   = "${var.name_prefix}-gpu-worker"
  display_name = "GPU worker: reads uploads, writes results, publishes completions"
  project      = var.project_id
}

resource "google_service_account" "eventarc" {
  account_id   = "${var.name_prefix}-eventarc"
  display_name = "Eventarc triggers: deliver events to the event functions"
  project      = var.project_id
}

resource "google_service_account" "pubsub_push" {
  account_id   = "${var.name_prefix}-pubsub-push"
  display_name = "Pub/Sub push: OIDC identity calling the worker's /pubsub/push"
  project      = var.project_id
}

resource "google_service_account" "gateway" {
  account_id   = "${var.name_prefix}-api-gateway"
  display_name = "API Gateway: invokes createUpload and getStatus for browsers"
  project      = var.project_id
}

resource "google_service_account" "functions_build" {
  account_id   = "${var.name_prefix}-functions-build"
  display_name = "Cloud Build for the functions' source"
  project      = var.project_id
}

# --- createUpload ----------------------------------------------------------------------
# A signed URL carries the signer's permissions: the browser's PUT creates the object as
# create-upload, so it needs create (not overwrite, not read) on the uploads bucket.
resource "google_storage_bucket_iam_member" "create_upload_creates_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.create_upload.member
}

# Signing with IAM signBlob as itself; granted on its own account only.
resource "google_service_account_iam_member" "create_upload_signs_as_itself" {
  service_account_id = google_service_account.create_upload.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.create_upload.member
}

# --- getStatus -------------------------------------------------------------------------
resource "google_storage_bucket_iam_member" "get_status_reads_results" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.get_status.member
}

# Reads an upload's metadata (storage.objects.get, no listing): a job whose photo has arrived
# but whose status document does not exist yet is answered 202 `received`, not 404.
resource "google_storage_bucket_iam_member" "get_status_sees_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.legacyObjectReader"
  member = google_service_account.get_status.member
}

resource "google_service_account_iam_member" "get_status_signs_as_itself" {
  service_account_id = google_service_account.get_status.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.get_status.member
}

# --- onObjectFinalized -----------------------------------------------------------------
resource "google_storage_bucket_iam_member" "on_finalized_reads_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.on_finalized.member
}

# Creates status documents (create-only) and updates them with generation preconditions.
resource "google_storage_bucket_iam_member" "on_finalized_writes_results" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectUser"
  member = google_service_account.on_finalized.member
}

resource "google_pubsub_topic_iam_member" "on_finalized_publishes_jobs" {
  project = var.project_id
  topic   = google_pubsub_topic.jobs.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.on_finalized.member
}

# Rejected uploads get a completion event straight away.
resource "google_pubsub_topic_iam_member" "on_finalized_publishes_completions" {
  project = var.project_id
  topic   = google_pubsub_topic.completions.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.on_finalized.member
}

# --- onDeadLetter ----------------------------------------------------------------------
resource "google_storage_bucket_iam_member" "on_dead_letter_writes_results" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectUser"
  member = google_service_account.on_dead_letter.member
}

resource "google_pubsub_topic_iam_member" "on_dead_letter_publishes_completions" {
  project = var.project_id
  topic   = google_pubsub_topic.completions.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.on_dead_letter.member
}

# --- worker ----------------------------------------------------------------------------
resource "google_storage_bucket_iam_member" "worker_reads_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.worker.member
}

# Outputs are overwritten with identical bytes on redelivery, and status documents are
# compare-and-swapped: create, read, overwrite, delete on objects, nothing on the bucket.
resource "google_storage_bucket_iam_member" "worker_writes_results" {
  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectUser"
  member = google_service_account.worker.member
}

resource "google_storage_bucket_iam_member" "worker_reads_model" {
  count = local.model_bucket == null ? 0 : 1

  bucket = local.model_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.worker.member
}

resource "google_pubsub_topic_iam_member" "worker_publishes_completions" {
  project = var.project_id
  topic   = google_pubsub_topic.completions.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.worker.member
}

# An unreadable job message is dead-lettered by the worker itself (with the reason in its
# attributes) and acked, never retried (gpu-worker/service/invalid-message.ts).
resource "google_pubsub_topic_iam_member" "worker_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.worker.member
}

# A job whose deliveries were lost to dead workers or broken streams (not failed) goes back
# on the jobs topic as a fresh message, so lost deliveries cannot dead-letter it
# (gpu-worker/service/redelivery.ts). The message is the one the worker received.
resource "google_pubsub_topic_iam_member" "worker_republishes_jobs" {
  project = var.project_id
  topic   = google_pubsub_topic.jobs.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.worker.member
}

# Pull mode only: in push mode Pub/Sub delivers and the worker only answers.
resource "google_pubsub_subscription_iam_member" "worker_pulls_jobs" {
  count = var.worker_mode == "pull" ? 1 : 0

  project      = var.project_id
  subscription = google_pubsub_subscription.jobs_worker.name
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.worker.member
}

# --- push delivery to the worker (push mode) -------------------------------------------
resource "google_cloud_run_v2_service_iam_member" "pubsub_push_invokes_worker" {
  count = var.worker_mode == "push" ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.worker[0].name
  role     = "roles/run.invoker"
  member   = google_service_account.pubsub_push.member
}

# The Pub/Sub service agent mints the push OIDC tokens as pubsub-push (needed in projects
# created before April 2021, harmless after); granted on that one account only.
resource "google_service_account_iam_member" "pubsub_agent_mints_push_tokens" {
  count = var.worker_mode == "push" ? 1 : 0

  service_account_id = google_service_account.pubsub_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# --- Eventarc --------------------------------------------------------------------------
# Project level: eventReceiver cannot be granted on a narrower resource.
resource "google_project_iam_member" "eventarc_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.eventarc.member
}

resource "google_cloud_run_v2_service_iam_member" "eventarc_invokes_on_finalized" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.on_object_finalized.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.eventarc.member
}

resource "google_cloud_run_v2_service_iam_member" "eventarc_invokes_on_dead_letter" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.on_dead_letter.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.eventarc.member
}

# Storage triggers: the Cloud Storage service agent publishes object events to a topic that
# Eventarc creates and names itself, so the grant has to be at project level.
resource "google_project_iam_member" "gcs_agent_publishes_events" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# --- function builds -------------------------------------------------------------------
# Project level: Cloud Build reads the source Cloud Functions stages in its own bucket and
# pushes the image to the gcf-artifacts repository, both created by the service itself.
resource "google_project_iam_member" "functions_build" {
  project = var.project_id
  role    = "roles/cloudbuild.builds.builder"
  member  = google_service_account.functions_build.member
}

# --- browser-facing functions, invoked through the gateway only ---------------------------
resource "google_cloud_run_v2_service_iam_member" "gateway_invokes_create_upload" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.create_upload.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.gateway.member
}

resource "google_cloud_run_v2_service_iam_member" "gateway_invokes_get_status" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.get_status.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.gateway.member
}

# --- order fulfilment ---------------------------------------------------------------------
# A completion event names its outputs (bucket + object); fulfilment reads them with its own
# identity: objects under jobs/ only (outputs and status documents), not uploads or the cache.
resource "google_pubsub_subscription_iam_member" "fulfilment_pulls_completions" {
  for_each = toset(var.fulfilment_members)

  project      = var.project_id
  subscription = google_pubsub_subscription.completions_fulfilment.name
  role         = "roles/pubsub.subscriber"
  member       = each.value
}

resource "google_storage_bucket_iam_member" "fulfilment_reads_outputs" {
  for_each = toset(var.fulfilment_members)

  bucket = google_storage_bucket.results.name
  role   = "roles/storage.objectViewer"
  member = each.value

  condition {
    title       = "job-outputs-only"
    description = "Objects under jobs/ in the results bucket."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.results.name}/objects/jobs/\")"
  }
}
