#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks to build and test Stapelkit: the BuildKit daemon
# (dockerd from Debian's docker.io — Stapelkit starts its own instance, never a system one), busybox-static
# for locally made base images, qemu-user-static for cross-platform RUNs, Go + Sprig for the template
# oracle, gcc for the static ssh-agent probe, openssh-client for ssh-agent/ssh-keygen in tests, docker-registry
# (distribution v2) for the integration suite's own registry (started per run on 127.0.0.1, never as a service),
# and the Go sources of BuildKit's client library (BuildKit v0.8, in golang-github-docker-docker-dev) with what
# it imports, for test/go-buildctl: `buildctl build` over BuildKit's own client, since buildctl has no package.
# Idempotent: does nothing when everything is present. Needs root (or sudo) only when it installs.
set -euo pipefail
PKGS=(docker.io docker-registry busybox-static qemu-user-static git iproute2 openssh-client gcc libc6-dev golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev xz-utils
  golang-github-docker-docker-dev golang-github-tonistiigi-fsutil-dev golang-github-tonistiigi-units-dev golang-github-gofrs-flock-dev golang-github-google-shlex-dev golang-github-grpc-ecosystem-grpc-opentracing-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
