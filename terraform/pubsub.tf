# Topics and subscriptions.
#
#   jobs ──> jobs-worker (worker; pull, or push to the worker's /pubsub/push in push mode)
#              └─ after N failed deliveries ──> jobs-dead-letter
#   jobs-dead-letter ──> Eventarc-owned push subscription ──> onDeadLetter (records "failed")
#                    └─> jobs-dead-letter-review (kept for operators: inspect, replay, ack)
#   completions ──> completions-fulfilment (example for order-fulfilment systems)
#
# Why onDeadLetter has no subscription of ours: a gen2 function's Pub/Sub trigger is an
# Eventarc trigger, and Eventarc creates and owns its push subscription (name unknown until
# apply). A second terraform-managed subscription feeding the function would deliver every
# dead letter twice. Instead, jobs-dead-letter-review keeps a copy of every dead letter until an
# operator acks it; its backlog is what the dead-letter alert watches (see monitoring.tf).

locals {
  message_retention = "${var.message_retention_days * 86400}s"
  pubsub_agent      = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  push_mode         = var.worker_mode == "push"
}

resource "google_pubsub_topic" "jobs" {
  name                       = var.jobs_topic_name
  project                    = var.project_id
  message_retention_duration = local.message_retention

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "completions" {
  name                       = var.completions_topic_name
  project                    = var.project_id
  message_retention_duration = local.message_retention

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  name                       = var.dead_letter_topic_name
  project                    = var.project_id
  message_retention_duration = local.message_retention

  depends_on = [google_project_service.enabled]
}

# The worker's subscription. One resource for both modes: in push mode it pushes to the
# worker service with an OIDC token, in pull mode the worker pool streams from it.
resource "google_pubsub_subscription" "jobs_worker" {
  name    = "jobs-worker"
  project = var.project_id
  topic   = google_pubsub_topic.jobs.id

  # Sized to the worst job. Pull clients extend leases past it; a push request that runs
  # longer than this is redelivered, so the worker's request timeout equals it (worker.tf).
  ack_deadline_seconds       = var.job_ack_deadline_seconds
  message_retention_duration = local.message_retention
  retain_acked_messages      = false

  retry_policy {
    minimum_backoff = "${var.job_retry_backoff_seconds.minimum}s"
    maximum_backoff = "${var.job_retry_backoff_seconds.maximum}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.job_max_delivery_attempts
  }

  # Never expire: a quiet week must not delete the worker's subscription.
  expiration_policy {
    ttl = ""
  }

  dynamic "push_config" {
    for_each = local.push_mode ? [one(google_cloud_run_v2_service.worker[*].uri)] : []
    content {
      push_endpoint = "${push_config.value}/pubsub/push"

      oidc_token {
        service_account_email = google_service_account.pubsub_push.email
        audience              = push_config.value
      }
    }
  }

  depends_on = [
    google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters,
  ]
}

# An example subscription for order-fulfilment systems (completion CloudEvents, binary mode).
# Real consumers should create their own, with their own filters and identities.
resource "google_pubsub_subscription" "completions_fulfilment" {
  name    = "completions-fulfilment"
  project = var.project_id
  topic   = google_pubsub_topic.completions.id

  ack_deadline_seconds       = 60
  message_retention_duration = local.message_retention

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }
}

# Operators' copy of every dead letter (onDeadLetter gets its own through Eventarc).
resource "google_pubsub_subscription" "dead_letter_review" {
  name    = "${var.dead_letter_topic_name}-review"
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.id

  ack_deadline_seconds       = 60
  message_retention_duration = local.message_retention

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering is done by the Pub/Sub service agent: it must be able to publish to the
# dead-letter topic and to ack (subscriber) on the source subscription.
resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_dead_lettered_jobs" {
  project      = var.project_id
  subscription = google_pubsub_subscription.jobs_worker.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
