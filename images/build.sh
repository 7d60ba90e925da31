#!/usr/bin/env bash
# Build the local test/demo images (no registry is reachable, so tests and the
# demo use images built here from the host's static busybox).
#
#   images/build.sh            build podvisor/busybox:latest (and :broken) unless they exist
#   images/build.sh --force    rebuild them
#
# podvisor/busybox:broken is the same image whose entrypoint fails at once: the demo's "bad
# release", rolled back by the Deployment's supervisor.
#
# Idempotent and fast when the image exists: one `docker image inspect` call.
set -euo pipefail

IMAGE="podvisor/busybox:latest"
BROKEN="podvisor/busybox:broken"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

build_broken() {
    if [[ $force -eq 1 ]] || ! docker image inspect "$BROKEN" >/dev/null 2>&1; then
        local dockerfile output
        dockerfile="$(printf 'FROM %s\nENTRYPOINT ["/bin/sh", "-c", "echo broken release >&2; exit 1"]\n' "$IMAGE")"
        if ! output="$(docker build --quiet -t "$BROKEN" - <<<"$dockerfile" 2>&1)"; then
            echo "$output" >&2
            exit 1
        fi
        echo "built $BROKEN"
    fi
}

if [[ $force -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    build_broken
    exit 0
fi

if [[ ! -x "$BUSYBOX" ]]; then
    echo "build.sh: $BUSYBOX not found; install Debian's busybox-static" >&2
    exit 1
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$HERE/busybox/Dockerfile" "$context/Dockerfile"
cp "$BUSYBOX" "$context/busybox"
# The legacy builder prints a deprecation notice on every build: show output only on failure.
if ! output="$(docker build --quiet -t "$IMAGE" "$context" 2>&1)"; then
    echo "$output" >&2
    exit 1
fi
echo "built $IMAGE"
build_broken
