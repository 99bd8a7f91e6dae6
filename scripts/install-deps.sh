#!/usr/bin/env bash
# Installs the system packages docflow builds and tests against. Idempotent: on Debian/Ubuntu
# it installs only what dpkg reports missing and says nothing when nothing is.
set -euo pipefail

packages=(
    librabbitmq-dev
    rabbitmq-server
    libsqlite3-dev
    libcurl4-openssl-dev
    libjq-dev
    libpoppler-glib-dev
    pkg-config
    # The web console's browser test (ConsoleBrowserTests) drives Debian's chromium, headless, and curl.
    chromium
    curl
)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: not a Debian system; install these (or your platform's equivalents) yourself: ${packages[*]}" >&2
    exit 0
fi

missing=()
for package in "${packages[@]}"; do
    # pkgconf replaces pkg-config on newer releases; either provides the command.
    if [[ $package == pkg-config ]] && command -v pkg-config >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
