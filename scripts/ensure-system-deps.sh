#!/usr/bin/env bash
# Installs from Debian packages what the tests need beyond npm, when missing: the official
# Pub/Sub emulator (and Java 17), and Chromium for the browser tests (test/web), which
# playwright-core drives; Playwright's own browser download is never used.
# Fails loudly, saying what to install, when it cannot.
set -euo pipefail
emulator_bin() {
  local root
  root=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)
  [ -n "$root" ] && [ -x "$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator" ] && echo "$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
}
packages=()
if ! emulator_bin >/dev/null || ! command -v java >/dev/null; then packages+=(google-cloud-cli-pubsub-emulator openjdk-17-jre-headless); fi
# CHROMIUM_PATH points the browser tests at another Chromium; then none is installed here.
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then packages+=(chromium); fi
[ ${#packages[@]} -eq 0 ] && exit 0

echo "setup: installing ${packages[*]} (Debian packages)" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
emulator_bin >/dev/null || { echo "setup: the Pub/Sub emulator is still missing: install the Debian package google-cloud-cli-pubsub-emulator (and Java 17)" >&2; exit 1; }
[ -n "${CHROMIUM_PATH:-}" ] || [ -x /usr/bin/chromium ] || { echo "setup: Chromium is still missing: install the Debian package chromium (or set CHROMIUM_PATH)" >&2; exit 1; }
