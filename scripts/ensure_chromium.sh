#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (executable_path): Playwright's
# own browser download cannot work on these machines. Installs it once, as root.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "Browser tests need Debian's chromium: run 'sudo apt-get install chromium' once." >&2
  exit 1
fi
echo ">> installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
