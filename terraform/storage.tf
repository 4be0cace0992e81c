# Buckets: uploads (browser PUTs and batch drops; the storage trigger watches it), results
# (status documents, outputs, result cache), and a private bucket for function source archives.
# The pipeline never writes to the uploads bucket, so the trigger cannot loop on its own writes.

locals {
  uploads_bucket = coalesce(var.uploads_bucket_name, "${var.project_id}-uploads")
  results_bucket = coalesce(var.results_bucket_name, "${var.project_id}-results")
  sources_bucket = "${var.project_id}-${var.name_prefix}-sources"
}

resource "google_storage_bucket" "uploads" {
  name     = local.uploads_bucket
  project  = var.project_id
  location = upper(var.region) # single region: the Eventarc storage trigger must be in the bucket's region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  # Originals are transient inputs; old generations would only cost money.
  versioning {
    enabled = false
  }

  # Browsers PUT straight to a V4 signed URL, sending every header createUpload signed; the
  # preflight fails unless CORS allows each one: the content type, the size cap
  # (x-goog-content-length-range) and the metadata handed to onObjectFinalized
  # (functions/upload-metadata.ts).
  cors {
    origin = var.allowed_origins
    method = ["PUT"]
    response_header = [
      "content-type",
      "x-goog-content-length-range",
      "x-goog-meta-petcutout-outputs",
      "x-goog-meta-petcutout-client-ref",
    ]
    max_age_seconds = 3600
  }

  lifecycle_rule {
    condition {
      age            = var.upload_retention_days
      matches_prefix = ["uploads/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age            = var.batch_retention_days
      matches_prefix = ["batch/"]
    }
    action {
      type = "Delete"
    }
  }

  # A browser that gives up half way leaves parts behind; they are never finalized.
  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  depends_on = [google_project_service.enabled, google_kms_crypto_key_iam_member.gcs_uses_cmek]
}

resource "google_storage_bucket" "results" {
  name     = local.results_bucket
  project  = var.project_id
  location = upper(var.region)

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  # Status documents are updated with generation preconditions; old generations have no use.
  versioning {
    enabled = false
  }

  # Browsers fetch outputs through short-lived signed GET URLs; fetch() (rather than <img>)
  # needs CORS to read the bytes, e.g. to draw the cutout on a canvas. With a CORS
  # configuration Cloud Storage answers `Vary: Origin`, so a copy an <img> cached without
  # CORS is not reused for a later CORS read (web/client fetches outputs in CORS mode).
  # Same origins as the uploads bucket and the functions' ALLOWED_ORIGINS: one variable.
  cors {
    origin          = var.allowed_origins
    method          = ["GET", "HEAD"]
    response_header = ["content-type", "content-length"]
    max_age_seconds = 3600
  }

  lifecycle_rule {
    condition {
      age            = var.job_retention_days
      matches_prefix = ["jobs/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age            = var.cache_retention_days
      matches_prefix = ["cache/"]
    }
    action {
      type = "Delete"
    }
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  depends_on = [google_project_service.enabled, google_kms_crypto_key_iam_member.gcs_uses_cmek]
}

# Function source archives, named by content hash (a new hash is what makes terraform redeploy).
resource "google_storage_bucket" "sources" {
  name     = local.sources_bucket
  project  = var.project_id
  location = upper(var.region)

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = false
  }

  depends_on = [google_project_service.enabled]
}

# With CMEK, the Cloud Storage service agent encrypts and decrypts with the key.
resource "google_kms_crypto_key_iam_member" "gcs_uses_cmek" {
  count = var.kms_key_name == null ? 0 : 1

  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}
