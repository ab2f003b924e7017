#!/usr/bin/env bash
# What the tests' real services need from the operating system: PostgreSQL from Debian's package
# (SeaweedFS comes from PyPI, in the test extra). Installs only what is missing, so a machine
# that already has it pays nothing; a fresh one gets it from apt.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-services: PostgreSQL is missing and only root can apt-get install it" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
fi
