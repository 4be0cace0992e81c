# The GPU worker on Cloud Run with one NVIDIA L4, in one of two shapes (var.worker_mode):
#   push: a Cloud Run service, scaled to zero when idle, receiving jobs from the push
#         subscription at /pubsub/push (OIDC-authenticated, see pubsub.tf and iam.tf);
#   pull: a Cloud Run worker pool with a fixed instance count, streaming-pulling jobs-worker.
# Push costs nothing while idle but pays a cold start (container + model load) after it;
# pull keeps warm GPUs and steady latency at a fixed price. Both use the same image.

locals {
  worker_name  = "${var.name_prefix}-gpu-worker"
  worker_port  = 8080
  worker_limit = { cpu = tostring(var.worker_cpu), memory = "${var.worker_memory_gib}Gi", "nvidia.com/gpu" = "1" }

  worker_env = merge(local.base_env, {
    WORKER_MODE        = var.worker_mode
    MODEL_PRESET       = var.model_preset
    MODEL_URI          = var.model_uri
    MODEL_SHA256       = var.model_sha256
    EXECUTION_PROVIDER = "cuda"
    # Fail at startup if the CUDA provider cannot load, instead of crawling along on CPU.
    REQUIRE_GPU    = "true"
    MAX_BATCH_SIZE = tostring(var.worker_max_batch_size)
    # Jobs held at once: one full batch (push: equals the request concurrency).
    WORKER_CONCURRENCY = tostring(var.worker_max_batch_size)
    # Pull: leases are extended past the worst job; push: the request timeout (below).
    MAX_JOB_SECONDS       = tostring(var.job_ack_deadline_seconds)
    MAX_DELIVERY_ATTEMPTS = tostring(var.job_max_delivery_attempts)
    NODE_ENV              = "production"
  })

  # Traffic (service) or instance split (pool): latest only, or a canary next to a stable
  # revision. Zero-percent entries are left out: canary_percent = 0 is a plain roll back.
  worker_split = var.worker_canary == null ? [
    { latest = true, revision = null, percent = 100 },
    ] : [
    for split in [
      { latest = false, revision = var.worker_canary.stable_revision, percent = 100 - var.worker_canary.canary_percent },
      { latest = true, revision = null, percent = var.worker_canary.canary_percent },
    ] : split if split.percent > 0
  ]
}

resource "google_cloud_run_v2_service" "worker" {
  count = var.worker_mode == "push" ? 1 : 0

  name                = local.worker_name
  project             = var.project_id
  location            = var.region
  deletion_protection = var.deletion_protection
  # Pub/Sub push from this project counts as internal traffic; nothing else may call it.
  ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"

  template {
    service_account       = google_service_account.worker.email
    execution_environment = "EXECUTION_ENVIRONMENT_GEN2"
    # A push request is one job; answering later than the ack deadline means a redelivery.
    timeout = "${var.job_ack_deadline_seconds}s"
    # One instance holds one GPU; let a full inference batch arrive at once, no more.
    max_instance_request_concurrency = var.worker_max_batch_size

    scaling {
      min_instance_count = 0 # scale to zero: an idle L4 is the biggest line on the bill
      max_instance_count = var.worker_max_instances
    }

    node_selector {
      accelerator = "nvidia-l4"
    }
    # Without zonal redundancy the GPU quota needed is smaller and the price lower; a zonal
    # outage delays jobs (they wait in Pub/Sub), it does not lose them.
    gpu_zonal_redundancy_disabled = true

    containers {
      name  = "worker"
      image = var.worker_image

      ports {
        container_port = local.worker_port
      }

      resources {
        limits = local.worker_limit
        # CPU always allocated: batching, encoding and lease bookkeeping run outside requests.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.worker_env
        content {
          name  = env.key
          value = env.value
        }
      }

      # Ready only once the model is downloaded, verified and loaded on the GPU.
      startup_probe {
        http_get {
          path = "/readyz"
          port = local.worker_port
        }
        initial_delay_seconds = 5
        period_seconds        = 10
        timeout_seconds       = 5
        failure_threshold     = 30
      }

      liveness_probe {
        http_get {
          path = "/healthz"
          port = local.worker_port
        }
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
      }
    }
  }

  dynamic "traffic" {
    for_each = local.worker_split
    content {
      type     = traffic.value.latest ? "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST" : "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
      revision = traffic.value.revision
      percent  = traffic.value.percent
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_storage_bucket_iam_member.worker_reads_uploads,
    google_storage_bucket_iam_member.worker_writes_results,
    google_storage_bucket_iam_member.worker_reads_model,
  ]
}

resource "google_cloud_run_v2_worker_pool" "worker" {
  count = var.worker_mode == "pull" ? 1 : 0

  name                = local.worker_name
  project             = var.project_id
  location            = var.region
  deletion_protection = var.deletion_protection
  # Manual scaling and GPUs on worker pools were preview features; BETA admits them either way.
  launch_stage = "BETA"

  scaling {
    scaling_mode          = "MANUAL"
    manual_instance_count = var.worker_pull_instances
  }

  template {
    service_account = google_service_account.worker.email

    node_selector {
      accelerator = "nvidia-l4"
    }
    gpu_zonal_redundancy_disabled = true

    containers {
      name  = "worker"
      image = var.worker_image

      resources {
        limits = local.worker_limit
      }

      dynamic "env" {
        # Worker pools get no $PORT from the platform; the probes need the HTTP server.
        for_each = merge(local.worker_env, {
          JOBS_SUBSCRIPTION = google_pubsub_subscription.jobs_worker.name
          PORT              = tostring(local.worker_port)
        })
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        http_get {
          path = "/readyz"
          port = local.worker_port
        }
        initial_delay_seconds = 5
        period_seconds        = 10
        timeout_seconds       = 5
        failure_threshold     = 30
      }

      liveness_probe {
        http_get {
          path = "/healthz"
          port = local.worker_port
        }
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
      }
    }
  }

  dynamic "instance_splits" {
    for_each = local.worker_split
    content {
      type     = instance_splits.value.latest ? "INSTANCE_SPLIT_ALLOCATION_TYPE_LATEST" : "INSTANCE_SPLIT_ALLOCATION_TYPE_REVISION"
      revision = instance_splits.value.revision
      percent  = instance_splits.value.percent
    }
  }

  lifecycle {
    ignore_changes = [launch_stage] # the API reports GA once no preview feature is in use
  }

  depends_on = [
    google_project_service.enabled,
    google_storage_bucket_iam_member.worker_reads_uploads,
    google_storage_bucket_iam_member.worker_writes_results,
    google_storage_bucket_iam_member.worker_reads_model,
    google_pubsub_subscription_iam_member.worker_pulls_jobs,
  ]
}
