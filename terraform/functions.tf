# Cloud Functions gen2 (Node 20). All four share one source archive: dist/functions, the
# bundle written by `npx tsx scripts/build.ts` (index.js exporting every target, plus a
# package.json listing the packages left external, which Cloud Build installs).

locals {
  functions_source_dir = coalesce(var.functions_source_dir, "${path.module}/../dist/functions")

  # What every component needs (shared/config.ts BaseConfig).
  base_env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    UPLOADS_BUCKET       = google_storage_bucket.uploads.name
    RESULTS_BUCKET       = google_storage_bucket.results.name
    JOBS_TOPIC           = google_pubsub_topic.jobs.name
    COMPLETIONS_TOPIC    = google_pubsub_topic.completions.name
    DEAD_LETTER_TOPIC    = google_pubsub_topic.dead_letter.name
    LOG_LEVEL            = var.log_level
  }

  # The four functions' common environment. NODE_ENV=production: express and
  # functions-framework otherwise put stack traces into error answers.
  functions_env = merge(local.base_env, {
    NODE_ENV = "production"
  })

  # The browser-facing functions. Their names are also their Cloud Run services' names, which
  # the gateway routes to by deterministic URL (gateway.tf).
  http_functions = {
    create_upload = "create-upload"
    get_status    = "get-status"
  }
  # Also the gateway's deadline for them: it should not give up before they do.
  http_timeout_seconds = 30
}

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = local.functions_source_dir
  output_path = "${path.module}/.build/functions-source.zip"
}

resource "google_storage_bucket_object" "functions_source" {
  # Named by content: a changed bundle is a new object, which is what redeploys the functions.
  name   = "functions/${data.archive_file.functions.output_md5}.zip"
  bucket = google_storage_bucket.sources.name
  source = data.archive_file.functions.output_path
}

# --- HTTP: called by shoppers' browsers through the API Gateway (gateway.tf) --------------
# Ingress stays ALLOW_ALL because the gateway calls the public run.app URL; what keeps
# everyone else out is IAM: only the gateway's service account may invoke them (iam.tf).

resource "google_cloudfunctions2_function" "create_upload" {
  name     = local.http_functions.create_upload
  project  = var.project_id
  location = var.region

  build_config {
    runtime         = "nodejs20"
    entry_point     = "createUpload"
    service_account = google_service_account.functions_build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.create_upload.email
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    available_memory                 = "512Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = 40
    min_instance_count               = 0
    max_instance_count               = var.functions_max_instances
    timeout_seconds                  = local.http_timeout_seconds

    environment_variables = merge(local.functions_env, {
      ALLOWED_ORIGINS        = join(",", var.allowed_origins)
      MAX_UPLOAD_BYTES       = tostring(var.max_upload_bytes)
      SIGNED_URL_TTL_SECONDS = tostring(var.signed_url_ttl_seconds)
      # The ticket's statusUrl: the gateway, which routes /jobs/{id} to getStatus. No cycle:
      # the gateway reaches the functions by deterministic URL, not by this resource's uri.
      PUBLIC_BASE_URL = local.gateway_url
    })
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.functions_build,
  ]
}

resource "google_cloudfunctions2_function" "get_status" {
  name     = local.http_functions.get_status
  project  = var.project_id
  location = var.region

  build_config {
    runtime         = "nodejs20"
    entry_point     = "getStatus"
    service_account = google_service_account.functions_build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.get_status.email
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    available_memory                 = "512Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = 40
    min_instance_count               = 0
    max_instance_count               = var.functions_max_instances
    timeout_seconds                  = local.http_timeout_seconds

    environment_variables = merge(local.functions_env, {
      ALLOWED_ORIGINS          = join(",", var.allowed_origins)
      DOWNLOAD_URL_TTL_SECONDS = tostring(var.download_url_ttl_seconds)
    })
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.functions_build,
  ]
}

# --- events: delivered by Eventarc, internal only ----------------------------------------

resource "google_cloudfunctions2_function" "on_object_finalized" {
  name     = "on-object-finalized"
  project  = var.project_id
  location = var.region

  build_config {
    runtime         = "nodejs20"
    entry_point     = "onObjectFinalized"
    service_account = google_service_account.functions_build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    service_account_email          = google_service_account.on_finalized.email
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    # Validation decodes image headers with sharp (pixel-bomb and dimension checks).
    available_memory   = "1Gi"
    available_cpu      = "1"
    min_instance_count = 0
    max_instance_count = var.functions_max_instances
    timeout_seconds    = 120

    environment_variables = merge(local.functions_env, {
      MAX_UPLOAD_BYTES = tostring(var.max_upload_bytes)
    })
  }

  event_trigger {
    trigger_region = var.region # must be the bucket's region
    event_type     = "google.cloud.storage.object.v1.finalized"
    # Retries on: a finalize event whose handling failed (Pub/Sub or Storage hiccup) is
    # redelivered; the create-only status document makes the retry idempotent.
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.eventarc.email

    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.uploads.name
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.functions_build,
    google_project_iam_member.gcs_agent_publishes_events,
    google_project_iam_member.eventarc_receives_events,
  ]
}

resource "google_cloudfunctions2_function" "on_dead_letter" {
  name     = "on-dead-letter"
  project  = var.project_id
  location = var.region

  build_config {
    runtime         = "nodejs20"
    entry_point     = "onDeadLetter"
    service_account = google_service_account.functions_build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    service_account_email          = google_service_account.on_dead_letter.email
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    available_memory               = "256Mi"
    min_instance_count             = 0
    max_instance_count             = var.functions_max_instances
    timeout_seconds                = 60

    environment_variables = local.functions_env
  }

  # Eventarc creates (and owns) a push subscription on the dead-letter topic for this trigger.
  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.dead_letter.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.eventarc.email
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.functions_build,
    google_project_iam_member.eventarc_receives_events,
  ]
}
