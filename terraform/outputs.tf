output "uploads_bucket" {
  description = "Uploads bucket (UPLOADS_BUCKET)."
  value       = google_storage_bucket.uploads.name
}

output "results_bucket" {
  description = "Results bucket (RESULTS_BUCKET)."
  value       = google_storage_bucket.results.name
}

output "gateway_url" {
  description = "The storefront's base URL: the API Gateway in front of createUpload (POST /uploads) and getStatus (GET /jobs/{jobId})."
  value       = local.gateway_url
}

output "create_upload_url" {
  description = "Where the storefront POSTs an upload request (createUpload, through the gateway)."
  value       = "${local.gateway_url}/uploads"
}

output "get_status_url" {
  description = "getStatus through the gateway, as a template; the upload ticket's statusUrl is this with the job id filled in."
  value       = "${local.gateway_url}/jobs/{jobId}"
}

output "topics" {
  description = "Topic names (JOBS_TOPIC, COMPLETIONS_TOPIC, DEAD_LETTER_TOPIC)."
  value = {
    jobs        = google_pubsub_topic.jobs.name
    completions = google_pubsub_topic.completions.name
    dead_letter = google_pubsub_topic.dead_letter.name
  }
}

output "subscriptions" {
  description = "Subscription names: the worker's, the example fulfilment one, and the dead-letter review one."
  value = {
    jobs_worker            = google_pubsub_subscription.jobs_worker.name
    completions_fulfilment = google_pubsub_subscription.completions_fulfilment.name
    dead_letter_review     = google_pubsub_subscription.dead_letter_review.name
  }
}

output "worker_name" {
  description = "Name of the worker's Cloud Run service (push) or worker pool (pull)."
  value       = local.worker_name
}

output "worker_url" {
  description = "URL of the worker service in push mode (internal ingress only); null in pull mode."
  value       = one(google_cloud_run_v2_service.worker[*].uri)
}

output "worker_latest_revision" {
  description = "The worker's latest ready revision: note it before a rollout, it is the stable_revision of worker_canary."
  value       = coalesce(one(google_cloud_run_v2_service.worker[*].latest_ready_revision), one(google_cloud_run_v2_worker_pool.worker[*].latest_ready_revision), "none")
}

output "service_accounts" {
  description = "Service account emails, one per component."
  value = {
    create_upload   = google_service_account.create_upload.email
    get_status      = google_service_account.get_status.email
    on_finalized    = google_service_account.on_finalized.email
    on_dead_letter  = google_service_account.on_dead_letter.email
    worker          = google_service_account.worker.email
    eventarc        = google_service_account.eventarc.email
    pubsub_push     = google_service_account.pubsub_push.email
    gateway         = google_service_account.gateway.email
    functions_build = google_service_account.functions_build.email
  }
}
