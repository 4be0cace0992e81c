# Provider requirements, the provider itself, and the project APIs everything else needs.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 7.x: Cloud Run v2 worker pools (pull mode) and GPU fields on services are in the GA provider.
      version = ">= 7.0.0, < 8.0.0"
    }
    google-beta = {
      source = "hashicorp/google-beta"
      # API Gateway (gateway.tf) is only in the beta provider; same major as google.
      version = ">= 7.0.0, < 8.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4.0, < 3.0.0"
    }
  }
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = merge({ app = var.name_prefix, managed-by = "terraform" }, var.labels)
}

provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = merge({ app = var.name_prefix, managed-by = "terraform" }, var.labels)
}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  project_apis = [
    "apigateway.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com", # signBlob for V4 signed URLs
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "servicecontrol.googleapis.com",    # API Gateway
    "servicemanagement.googleapis.com", # API Gateway: the API's configs
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "enabled" {
  for_each = toset(local.project_apis)

  project = var.project_id
  service = each.value
  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy = false
}
