# Inputs. Every variable has a description and, where a wrong value would only fail at apply
# time (or worse, deploy something subtly wrong), a validation block.

# --- project -------------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project id to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region for buckets, functions, the worker and the Eventarc triggers. It must offer Cloud Run NVIDIA L4 GPUs (for example us-central1, europe-west1, europe-west4, asia-southeast1)."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a single region such as us-central1 (the storage trigger needs the bucket and the trigger in the same region)."
  }
}

variable "gateway_region" {
  description = "Region of the API Gateway in front of createUpload and getStatus; null means `region`. API Gateway runs in fewer regions than Cloud Run GPUs (e.g. europe-west1, europe-west2, us-central1, us-east1, asia-northeast1; not europe-west4), and the gateway may sit in another region than its backends."
  type        = string
  default     = null

  validation {
    condition     = var.gateway_region == null || can(regex("^[a-z]+-[a-z]+[0-9]$", var.gateway_region))
    error_message = "gateway_region must be null (same as region) or a single region such as europe-west1."
  }
}

variable "name_prefix" {
  description = "Prefix for service account ids and other per-deployment names; also the `app` label."
  type        = string
  default     = "petcutout"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,11}$", var.name_prefix))
    error_message = "name_prefix must be 2-12 lowercase letters, digits or hyphens, starting with a letter (service account ids are limited to 30 characters)."
  }
}

variable "labels" {
  description = "Extra labels applied to every resource that supports labels."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels keys and values must be lowercase letters, digits, underscores or hyphens (keys start with a letter, at most 63 characters)."
  }
}

variable "deletion_protection" {
  description = "Protect the worker (Cloud Run) from `terraform destroy`. Set to false only for throwaway environments."
  type        = bool
  default     = true
}

# --- storage -------------------------------------------------------------------------------

variable "uploads_bucket_name" {
  description = "Name of the uploads bucket (browser uploads under uploads/, operator batch drops under batch/). Defaults to PROJECT_ID-uploads."
  type        = string
  default     = null

  validation {
    condition     = var.uploads_bucket_name == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.uploads_bucket_name))
    error_message = "uploads_bucket_name must be a valid bucket name: 3-63 lowercase letters, digits, dots, underscores or hyphens."
  }
}

variable "results_bucket_name" {
  description = "Name of the results bucket (status documents and outputs under jobs/, the result cache under cache/). Defaults to PROJECT_ID-results."
  type        = string
  default     = null

  validation {
    condition     = var.results_bucket_name == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.results_bucket_name))
    error_message = "results_bucket_name must be a valid bucket name: 3-63 lowercase letters, digits, dots, underscores or hyphens."
  }
}

variable "allowed_origins" {
  description = "Storefront origins, the one list for the browser side: allowed to PUT uploads (uploads bucket CORS), to read results (results bucket CORS) and to call createUpload/getStatus (the functions' ALLOWED_ORIGINS), e.g. [\"https://shop.example.com\"]."
  type        = list(string)

  validation {
    condition     = length(var.allowed_origins) > 0 && alltrue([for o in var.allowed_origins : can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", o)) || can(regex("^http://localhost(:[0-9]+)?$", o))])
    error_message = "allowed_origins must list at least one origin of the form https://host[:port] (http:// only for localhost), with no path and no trailing slash; \"*\" is not allowed."
  }
}

variable "upload_retention_days" {
  description = "Days after which browser-uploaded originals (uploads/) are deleted."
  type        = number
  default     = 7

  validation {
    condition     = var.upload_retention_days >= 1 && var.upload_retention_days <= 365 && floor(var.upload_retention_days) == var.upload_retention_days
    error_message = "upload_retention_days must be a whole number of days between 1 and 365."
  }
}

variable "batch_retention_days" {
  description = "Days after which operator batch drops (batch/) are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.batch_retention_days >= 1 && var.batch_retention_days <= 365 && floor(var.batch_retention_days) == var.batch_retention_days
    error_message = "batch_retention_days must be a whole number of days between 1 and 365."
  }
}

variable "job_retention_days" {
  description = "Days after which status documents and outputs (jobs/) are deleted from the results bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.job_retention_days >= 1 && var.job_retention_days <= 3650 && floor(var.job_retention_days) == var.job_retention_days
    error_message = "job_retention_days must be a whole number of days between 1 and 3650."
  }
}

variable "cache_retention_days" {
  description = "Days after which result-cache entries (cache/) are deleted from the results bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.cache_retention_days >= 1 && var.cache_retention_days <= 3650 && floor(var.cache_retention_days) == var.cache_retention_days
    error_message = "cache_retention_days must be a whole number of days between 1 and 3650."
  }
}

variable "kms_key_name" {
  description = "Optional Cloud KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) used as the default key of the uploads and results buckets. Null means Google-managed encryption."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "kms_key_name must be a full crypto key name: projects/P/locations/L/keyRings/R/cryptoKeys/K."
  }
}

# --- pub/sub -------------------------------------------------------------------------------

variable "jobs_topic_name" {
  description = "Topic for JobMessages (onObjectFinalized -> worker). Must match JOBS_TOPIC."
  type        = string
  default     = "jobs"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", var.jobs_topic_name)) && !startswith(var.jobs_topic_name, "goog")
    error_message = "jobs_topic_name must be a Pub/Sub resource id: 3-255 characters, starting with a letter, not starting with \"goog\"."
  }
}

variable "completions_topic_name" {
  description = "Topic for completion CloudEvents (worker, onObjectFinalized, onDeadLetter -> fulfilment). Must match COMPLETIONS_TOPIC."
  type        = string
  default     = "completions"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", var.completions_topic_name)) && !startswith(var.completions_topic_name, "goog")
    error_message = "completions_topic_name must be a Pub/Sub resource id: 3-255 characters, starting with a letter, not starting with \"goog\"."
  }
}

variable "dead_letter_topic_name" {
  description = "Topic receiving jobs that exhausted their delivery attempts. Must match DEAD_LETTER_TOPIC."
  type        = string
  default     = "jobs-dead-letter"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", var.dead_letter_topic_name)) && !startswith(var.dead_letter_topic_name, "goog")
    error_message = "dead_letter_topic_name must be a Pub/Sub resource id: 3-255 characters, starting with a letter, not starting with \"goog\"."
  }
}

variable "message_retention_days" {
  description = "How long topics and subscriptions keep messages (acked ones too, on topics, so a subscription can be seeked back for replay)."
  type        = number
  default     = 7

  validation {
    condition     = var.message_retention_days >= 1 && var.message_retention_days <= 7 && floor(var.message_retention_days) == var.message_retention_days
    error_message = "message_retention_days must be a whole number between 1 and 7 (the subscription maximum)."
  }
}

variable "job_ack_deadline_seconds" {
  description = "Ack deadline of the worker subscription, sized to the worst job (download, inference on a cold GPU, three outputs, upload). In push mode it is also the worker's request timeout; in pull mode the client extends leases beyond it."
  type        = number
  default     = 120

  validation {
    condition     = var.job_ack_deadline_seconds >= 10 && var.job_ack_deadline_seconds <= 600 && floor(var.job_ack_deadline_seconds) == var.job_ack_deadline_seconds
    error_message = "job_ack_deadline_seconds must be a whole number between 10 and 600 (the Pub/Sub limits)."
  }
}

variable "job_max_delivery_attempts" {
  description = "Deliveries of a job before it goes to the dead-letter topic."
  type        = number
  default     = 5

  validation {
    condition     = var.job_max_delivery_attempts >= 5 && var.job_max_delivery_attempts <= 100 && floor(var.job_max_delivery_attempts) == var.job_max_delivery_attempts
    error_message = "job_max_delivery_attempts must be a whole number between 5 and 100 (the Pub/Sub limits)."
  }
}

variable "job_retry_backoff_seconds" {
  description = "Minimum and maximum redelivery backoff of the worker subscription after a nack or a missed deadline."
  type = object({
    minimum = number
    maximum = number
  })
  default = { minimum = 10, maximum = 600 }

  validation {
    condition     = var.job_retry_backoff_seconds.minimum >= 0 && var.job_retry_backoff_seconds.maximum <= 600 && var.job_retry_backoff_seconds.minimum <= var.job_retry_backoff_seconds.maximum
    error_message = "job_retry_backoff_seconds must satisfy 0 <= minimum <= maximum <= 600."
  }
}

# --- functions -----------------------------------------------------------------------------

variable "functions_source_dir" {
  description = "Directory holding the bundled functions (output of `npx tsx scripts/build.ts`: index.js and package.json). Defaults to dist/functions at the repository root."
  type        = string
  default     = null

  validation {
    condition     = var.functions_source_dir == null || try(length(trimspace(var.functions_source_dir)) > 0, false)
    error_message = "functions_source_dir must be a non-empty path, or null for dist/functions."
  }
}

variable "functions_max_instances" {
  description = "Maximum instances of each function."
  type        = number
  default     = 20

  validation {
    condition     = var.functions_max_instances >= 1 && var.functions_max_instances <= 1000 && floor(var.functions_max_instances) == var.functions_max_instances
    error_message = "functions_max_instances must be a whole number between 1 and 1000."
  }
}

variable "max_upload_bytes" {
  description = "Largest upload createUpload signs for (enforced by the signed URL's x-goog-content-length-range) and onObjectFinalized accepts."
  type        = number
  default     = 20971520

  validation {
    condition     = var.max_upload_bytes >= 1024 && var.max_upload_bytes <= 104857600 && floor(var.max_upload_bytes) == var.max_upload_bytes
    error_message = "max_upload_bytes must be a whole number of bytes between 1 KiB and 100 MiB."
  }
}

variable "signed_url_ttl_seconds" {
  description = "Lifetime of the signed upload URLs createUpload hands out."
  type        = number
  default     = 900

  validation {
    condition     = var.signed_url_ttl_seconds >= 60 && var.signed_url_ttl_seconds <= 604800 && floor(var.signed_url_ttl_seconds) == var.signed_url_ttl_seconds
    error_message = "signed_url_ttl_seconds must be a whole number between 60 and 604800 (7 days, the V4 signed URL limit)."
  }
}

variable "download_url_ttl_seconds" {
  description = "Lifetime of the signed download URLs getStatus returns for finished outputs."
  type        = number
  default     = 900

  validation {
    condition     = var.download_url_ttl_seconds >= 60 && var.download_url_ttl_seconds <= 604800 && floor(var.download_url_ttl_seconds) == var.download_url_ttl_seconds
    error_message = "download_url_ttl_seconds must be a whole number between 60 and 604800 (7 days, the V4 signed URL limit)."
  }
}

variable "fulfilment_members" {
  description = "Principals of order-fulfilment systems (e.g. serviceAccount:orders@P.iam.gserviceaccount.com): they may pull completions-fulfilment and read the finished outputs under jobs/ in the results bucket, nothing else."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.fulfilment_members : can(regex("^(serviceAccount|user|group|principal|principalSet):.+", m))])
    error_message = "fulfilment_members must be IAM principals such as serviceAccount:NAME@PROJECT.iam.gserviceaccount.com."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of every component."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error", "fatal", "silent"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error, fatal, silent."
  }
}

# --- worker --------------------------------------------------------------------------------

variable "worker_mode" {
  description = "How the GPU worker receives jobs: \"push\" (Cloud Run service behind a push subscription, scales to zero) or \"pull\" (Cloud Run worker pool with a fixed instance count, streaming pull)."
  type        = string
  default     = "push"

  validation {
    condition     = contains(["push", "pull"], var.worker_mode)
    error_message = "worker_mode must be \"push\" or \"pull\"."
  }
}

variable "worker_image" {
  description = "Container image of the GPU worker (built from gpu-worker/Dockerfile), preferably pinned by digest: REGION-docker.pkg.dev/PROJECT/REPO/gpu-worker@sha256:..."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[^\\s]+$", var.worker_image))
    error_message = "worker_image must be a full image reference such as us-central1-docker.pkg.dev/my-project/images/gpu-worker@sha256:..."
  }
}

variable "worker_cpu" {
  description = "vCPUs of a worker instance. Cloud Run requires at least 4 with an L4 GPU."
  type        = number
  default     = 8

  validation {
    condition     = contains([4, 6, 8], var.worker_cpu)
    error_message = "worker_cpu must be 4, 6 or 8 (Cloud Run with one L4 GPU needs at least 4 vCPUs)."
  }
}

variable "worker_memory_gib" {
  description = "Memory of a worker instance in GiB. Cloud Run requires at least 16 GiB with an L4 GPU."
  type        = number
  default     = 32

  validation {
    condition     = var.worker_memory_gib >= 16 && var.worker_memory_gib <= 32 && floor(var.worker_memory_gib) == var.worker_memory_gib
    error_message = "worker_memory_gib must be a whole number between 16 and 32."
  }
}

variable "worker_max_instances" {
  description = "Push mode: maximum worker instances (each holds one L4; keep within the project's GPU quota)."
  type        = number
  default     = 3

  validation {
    condition     = var.worker_max_instances >= 1 && var.worker_max_instances <= 100 && floor(var.worker_max_instances) == var.worker_max_instances
    error_message = "worker_max_instances must be a whole number between 1 and 100."
  }
}

variable "worker_pull_instances" {
  description = "Pull mode: the fixed number of worker-pool instances pulling jobs (billed while running, even when idle)."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_pull_instances >= 0 && var.worker_pull_instances <= 100 && floor(var.worker_pull_instances) == var.worker_pull_instances
    error_message = "worker_pull_instances must be a whole number between 0 and 100."
  }
}

variable "worker_max_batch_size" {
  description = "Images inferred together on the GPU (MAX_BATCH_SIZE). In push mode it is also the request concurrency of an instance, so a full batch can arrive at once."
  type        = number
  default     = 4

  validation {
    condition     = var.worker_max_batch_size >= 1 && var.worker_max_batch_size <= 32 && floor(var.worker_max_batch_size) == var.worker_max_batch_size
    error_message = "worker_max_batch_size must be a whole number between 1 and 32."
  }
}

variable "model_preset" {
  description = "MODEL_PRESET of the worker: the model contract (input size, normalisation, output) to use."
  type        = string
  default     = "inspyrenet-swinb-1024"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]+$", var.model_preset))
    error_message = "model_preset must be a preset name such as inspyrenet-swinb-1024."
  }
}

variable "model_uri" {
  description = "MODEL_URI of the worker: a gs:// URI fetched at start (the worker gets read access to that bucket) or an absolute path baked into the image."
  type        = string

  validation {
    condition     = can(regex("^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/.+$", var.model_uri)) || startswith(var.model_uri, "/")
    error_message = "model_uri must be gs://BUCKET/OBJECT or an absolute path inside the image."
  }
}

variable "model_sha256" {
  description = "MODEL_SHA256: hex sha256 of the model file; the worker refuses to start on a mismatch."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.model_sha256))
    error_message = "model_sha256 must be 64 lowercase hex characters."
  }
}

# --- operations ----------------------------------------------------------------------------

variable "notification_channels" {
  description = "Cloud Monitoring notification channel ids (projects/P/notificationChannels/N) alerted by every policy."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "notification_channels must be full ids: projects/PROJECT/notificationChannels/NUMBER."
  }
}

variable "oldest_job_alert_seconds" {
  description = "Alert when the oldest unacknowledged job on the worker subscription is older than this."
  type        = number
  default     = 900

  validation {
    condition     = var.oldest_job_alert_seconds >= 60 && floor(var.oldest_job_alert_seconds) == var.oldest_job_alert_seconds
    error_message = "oldest_job_alert_seconds must be a whole number of at least 60."
  }
}

variable "error_rate_alert_ratio" {
  description = "Alert when the share of failed requests (5xx) of the functions or the worker is above this ratio over 5 minutes."
  type        = number
  default     = 0.05

  validation {
    condition     = var.error_rate_alert_ratio > 0 && var.error_rate_alert_ratio < 1
    error_message = "error_rate_alert_ratio must be between 0 and 1 (exclusive)."
  }
}

variable "worker_canary" {
  description = "Gradual rollout of a new worker revision (docs/deploy.md). Null: all traffic (push) or instances (pull) on the latest revision. Set: canary_percent on the latest revision, the rest on stable_revision (the revision that served before the new image); canary_percent = 0 is an instant roll back."
  type = object({
    stable_revision = string
    canary_percent  = number
  })
  default = null

  validation {
    condition     = var.worker_canary == null || (try(var.worker_canary.canary_percent >= 0 && var.worker_canary.canary_percent <= 100 && floor(var.worker_canary.canary_percent) == var.worker_canary.canary_percent, false) && try(length(var.worker_canary.stable_revision) > 0, false))
    error_message = "worker_canary needs a non-empty stable_revision and a whole canary_percent between 0 and 100."
  }
}
