#!/usr/bin/env bash
# Installs the official Pub/Sub emulator (and Java 17) from Debian packages when missing.
# Fails loudly, saying what to install, when it cannot.
set -euo pipefail
emulator_bin() {
  local root
  root=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)
  [ -n "$root" ] && [ -x "$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator" ] && echo "$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
}
if emulator_bin >/dev/null && command -v java >/dev/null; then exit 0; fi
echo "setup: installing the Pub/Sub emulator (google-cloud-cli-pubsub-emulator) and Java 17" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq google-cloud-cli-pubsub-emulator openjdk-17-jre-headless >/dev/null
emulator_bin >/dev/null || { echo "setup: the Pub/Sub emulator is still missing: install the Debian package google-cloud-cli-pubsub-emulator (and Java 17)" >&2; exit 1; }
