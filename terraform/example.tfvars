# Copy to e.g. prod.tfvars (ignored by git) and fill in. `terraform apply -var-file=prod.tfvars`.
project_id = "petcutout-prod"
region     = "europe-west4"
# API Gateway is not offered in europe-west4; the nearest region that has it.
gateway_region = "europe-west1"

allowed_origins = ["https://shop.example.com", "https://www.shop.example.com"]

# Built from gpu-worker/Dockerfile and pushed to Artifact Registry; pin by digest.
worker_image = "europe-west4-docker.pkg.dev/petcutout-prod/images/gpu-worker@sha256:0000000000000000000000000000000000000000000000000000000000000000"
worker_mode  = "push" # or "pull": a worker pool with worker_pull_instances always-on GPUs

model_preset = "inspyrenet-swinb-1024"
model_uri    = "gs://petcutout-prod-models/inspyrenet/swinb-1024.onnx"
model_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"

worker_max_instances  = 3
worker_max_batch_size = 4

upload_retention_days = 7
job_retention_days    = 30
cache_retention_days  = 30

notification_channels = ["projects/petcutout-prod/notificationChannels/1234567890"]

# Optional: customer-managed encryption for both buckets.
# kms_key_name = "projects/petcutout-prod/locations/europe-west4/keyRings/petcutout/cryptoKeys/buckets"

# During a rollout (docs/deploy.md):
# worker_canary = { stable_revision = "petcutout-gpu-worker-00007-abc", canary_percent = 10 }
