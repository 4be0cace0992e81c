# Alerts and log-based metrics. Every policy notifies var.notification_channels and links
# the runbook in docs/deploy.md.

locals {
  function_services = [
    google_cloudfunctions2_function.create_upload.name,
    google_cloudfunctions2_function.get_status.name,
    google_cloudfunctions2_function.on_object_finalized.name,
    google_cloudfunctions2_function.on_dead_letter.name,
  ]
  function_services_filter = join(", ", [for s in local.function_services : "\"${s}\""])

  # The worker logs ERROR only for failures it could not classify as a bad input; a handful
  # in five minutes is an incident, one is noise from a single poisoned message.
  worker_error_logs_per_5m = 5
}

# Rejected uploads by code (too large, not an image, pixel bomb, ...): a dashboard and a
# place to spot a storefront bug or an abuse pattern. The functions log one line per
# rejection with event "job.rejected" and the error code (names: functions/log-events.ts).
resource "google_logging_metric" "rejected_uploads" {
  name    = "${var.name_prefix}/rejected_uploads"
  project = var.project_id
  filter  = "jsonPayload.event=\"job.rejected\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Rejected uploads"

    labels {
      key         = "code"
      value_type  = "STRING"
      description = "Rejection code (the error taxonomy's code)."
    }
  }

  label_extractors = {
    code = "EXTRACT(jsonPayload.code)"
  }
}

# Worker errors in either mode (a worker pool serves no requests, so there is no 5xx ratio).
resource "google_logging_metric" "worker_errors" {
  name    = "${var.name_prefix}/worker_errors"
  project = var.project_id
  filter  = "severity>=ERROR AND ((resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.worker_name}\") OR (resource.type=\"cloud_run_worker_pool\" AND resource.labels.worker_pool_name=\"${local.worker_name}\"))"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "GPU worker error log entries"
  }
}

resource "google_monitoring_alert_policy" "dead_letters_waiting" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: jobs dead-lettered"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "Dead-letter review backlog above zero"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter_review.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Jobs failed ${var.job_max_delivery_attempts} deliveries. onDeadLetter marked them failed; the copies wait on `${google_pubsub_subscription.dead_letter_review.name}`. Inspect, fix, replay or ack them: docs/deploy.md, \"Dead letters\"."
  }
}

resource "google_monitoring_alert_policy" "oldest_job" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: jobs waiting too long"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "Oldest unacked job older than ${var.oldest_job_alert_seconds}s"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.jobs_worker.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.oldest_job_alert_seconds
      duration        = "120s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The worker is not keeping up or not running: check the worker's revisions, GPU quota, startup probe (/readyz: model download and sha256) and its logs. docs/deploy.md, \"Jobs waiting\"."
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: function error rate"
  combiner              = "OR"
  notification_channels = var.notification_channels

  # Event functions answer 500 on a failed event (that is what makes Eventarc retry), so
  # the 5xx share covers all four functions.
  conditions {
    display_name = "5xx share above ${var.error_rate_alert_ratio}"
    condition_threshold {
      filter             = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=one_of(${local.function_services_filter}) AND metric.type=\"run.googleapis.com/request_count\" AND metric.label.response_code_class=\"5xx\""
      denominator_filter = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=one_of(${local.function_services_filter}) AND metric.type=\"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.error_rate_alert_ratio
      duration           = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A function is failing. Its logs carry the error code and the job id. docs/deploy.md, \"Function errors\"."
  }
}

resource "google_monitoring_alert_policy" "worker_errors" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: GPU worker errors"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "More than ${local.worker_error_logs_per_5m} error log entries in 5 minutes"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.worker_errors.name}\" AND resource.type=one_of(\"cloud_run_revision\", \"cloud_run_worker_pool\")"
      comparison      = "COMPARISON_GT"
      threshold_value = local.worker_error_logs_per_5m
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  # Push mode: the share of push deliveries the worker answered with 5xx (each one is a nack).
  dynamic "conditions" {
    for_each = google_cloud_run_v2_service.worker
    content {
      display_name = "Push 5xx share above ${var.error_rate_alert_ratio}"
      condition_threshold {
        filter             = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"${conditions.value.name}\" AND metric.type=\"run.googleapis.com/request_count\" AND metric.label.response_code_class=\"5xx\""
        denominator_filter = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"${conditions.value.name}\" AND metric.type=\"run.googleapis.com/request_count\""
        comparison         = "COMPARISON_GT"
        threshold_value    = var.error_rate_alert_ratio
        duration           = "300s"

        aggregations {
          alignment_period     = "300s"
          per_series_aligner   = "ALIGN_DELTA"
          cross_series_reducer = "REDUCE_SUM"
        }

        denominator_aggregations {
          alignment_period     = "300s"
          per_series_aligner   = "ALIGN_DELTA"
          cross_series_reducer = "REDUCE_SUM"
        }
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The GPU worker is failing jobs. Look for the job ids in its logs; if a new revision started it, roll back (docs/deploy.md, \"Roll back\")."
  }

  depends_on = [google_logging_metric.worker_errors]
}
