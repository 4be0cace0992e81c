# The storefront's one way in: Google API Gateway in front of createUpload and getStatus.
#
# Browsers have no Google identity, so something must accept anonymous requests. Here that is
# the gateway, not the functions: their Cloud Run services grant roles/run.invoker to the
# gateway's service account only (iam.tf), nothing in the project is granted to allUsers or
# allAuthenticatedUsers, and a request that is not one of the four operations below never
# reaches our code. The functions keep their own checks (origin allow-list, validation, rate
# limit, size limits signed into upload URLs, unguessable job ids).
#
# No API key is required: the callers are browsers, and a key shipped in the storefront's
# JavaScript identifies nobody. Per-client quotas could be added later: an `api_key` security
# definition required on each operation, `x-google-management` metrics and quota limits,
# the API's managed service (google_api_gateway_api.storefront.managed_service) enabled, and
# one key per storefront or partner, restricted by HTTP referrer.

locals {
  gateway_region = coalesce(var.gateway_region, var.region)

  # Backends are addressed by Cloud Run's deterministic URL, https://SERVICE-PROJECT_NUMBER.
  # REGION.run.app, which is known before the service exists (a gen2 function runs as the
  # Cloud Run service of the same name) and is an ID-token audience Cloud Run accepts. The
  # functions' `uri` attribute would close a cycle: createUpload's PUBLIC_BASE_URL is the
  # gateway's hostname, the gateway needs its API config, and the config would need
  # createUpload's uri, i.e. createUpload itself.
  run_url = {
    create_upload = "https://${local.http_functions.create_upload}-${data.google_project.this.number}.${var.region}.run.app"
    get_status    = "https://${local.http_functions.get_status}-${data.google_project.this.number}.${var.region}.run.app"
  }

  # APPEND_PATH_TO_ADDRESS: the function sees the gateway's path (/uploads, /jobs/{jobId}),
  # which is what createUpload and getStatus route on. The gateway signs an ID token for the
  # audience as its service account; the deadline is the functions' own timeout.
  gateway_backend = {
    create_upload = {
      address          = local.run_url.create_upload
      jwt_audience     = local.run_url.create_upload
      path_translation = "APPEND_PATH_TO_ADDRESS"
      deadline         = local.http_timeout_seconds
    }
    get_status = {
      address          = local.run_url.get_status
      jwt_audience     = local.run_url.get_status
      path_translation = "APPEND_PATH_TO_ADDRESS"
      deadline         = local.http_timeout_seconds
    }
  }

  job_id_parameter = { name = "jobId", in = "path", required = true, type = "string" }

  # OpenAPI 2.0, the version API Gateway reads. The OPTIONS operations are declared so that
  # CORS preflights reach the functions, which answer them from ALLOWED_ORIGINS; the gateway
  # refuses any method or path not listed here.
  openapi = {
    swagger  = "2.0"
    info     = { title = "${var.name_prefix} storefront API", version = "1.0.0" }
    schemes  = ["https"]
    produces = ["application/json"]
    paths = {
      "/uploads" = {
        get = {
          operationId        = "uploadLimits"
          summary            = "What an upload may be (size, types, outputs), checked by the browser before asking"
          "x-google-backend" = local.gateway_backend.create_upload
          responses          = { "200" = { description = "Upload limits" } }
        }
        post = {
          operationId        = "createUpload"
          summary            = "Mint a job id and a signed upload URL"
          "x-google-backend" = local.gateway_backend.create_upload
          responses          = { "201" = { description = "Upload ticket" } }
        }
        options = {
          operationId        = "createUploadPreflight"
          summary            = "CORS preflight, answered by createUpload"
          "x-google-backend" = local.gateway_backend.create_upload
          responses          = { "204" = { description = "Preflight answered" } }
        }
      }
      "/jobs/{jobId}" = {
        get = {
          operationId        = "getStatus"
          summary            = "A job's status, with download URLs once it succeeded"
          parameters         = [local.job_id_parameter]
          "x-google-backend" = local.gateway_backend.get_status
          responses          = { "200" = { description = "Job status" } }
        }
        options = {
          operationId        = "getStatusPreflight"
          summary            = "CORS preflight, answered by getStatus"
          parameters         = [local.job_id_parameter]
          "x-google-backend" = local.gateway_backend.get_status
          responses          = { "204" = { description = "Preflight answered" } }
        }
      }
    }
  }

  gateway_url = "https://${google_api_gateway_gateway.storefront.default_hostname}"
}

resource "google_api_gateway_api" "storefront" {
  provider = google-beta

  project      = var.project_id
  api_id       = "${var.name_prefix}-storefront"
  display_name = "Storefront: uploads and job status"

  depends_on = [google_project_service.enabled]
}

resource "google_api_gateway_api_config" "storefront" {
  provider = google-beta

  project = var.project_id
  api     = google_api_gateway_api.storefront.api_id
  # API configs are immutable: a changed document is a new config (fresh id from the
  # prefix), created before the gateway moves to it and the old one is deleted.
  api_config_id_prefix = "${var.name_prefix}-"

  openapi_documents {
    document {
      path     = "openapi.yaml"
      contents = base64encode(yamlencode(local.openapi))
    }
  }

  gateway_config {
    backend_config {
      google_service_account = google_service_account.gateway.email
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "storefront" {
  provider = google-beta

  project      = var.project_id
  region       = local.gateway_region
  gateway_id   = "${var.name_prefix}-storefront"
  display_name = "Storefront gateway"
  api_config   = google_api_gateway_api_config.storefront.id
}
