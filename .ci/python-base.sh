#!/usr/bin/env bash
# A Debian bookworm + python3 base image in local containers-storage, for the slow test that builds the
# Containerfile (tests/test_container_image.py): this machine cannot pull python:*-slim from Docker Hub,
# but it reaches Debian's apt mirror. debootstrap makes the root filesystem, buildah imports it as one
# layer. Runs as root (debootstrap, buildah's chroot isolation).
#   .ci/python-base.sh WORKDIR TAG
# The image is stored where buildah looks by default, or where CONTAINERS_STORAGE_CONF points.
set -euo pipefail
WORK="$1"; TAG="$2"
case "$WORK" in /|/tmp|/root|/work|"") echo "refusing WORKDIR=$WORK" >&2; exit 2 ;; esac

# The mirror apt already uses (override with DEBIAN_MIRROR=...), found the way ../shared/rig does.
MIRROR="${DEBIAN_MIRROR:-$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } \
  | awk '/^URIs:/{print $2} /^deb /{for(i=2;i<=NF;i++) if($i ~ /^https?:/){print $i; break}}' | grep -E '/debian/?$' | sed -n 1p)}"
[ -n "$MIRROR" ] || { echo "no Debian mirror found in apt sources; set DEBIAN_MIRROR" >&2; exit 1; }

MISSING=""
command -v buildah > /dev/null || MISSING="$MISSING buildah"
command -v debootstrap > /dev/null || MISSING="$MISSING debootstrap"
if [ -n "$MISSING" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $MISSING
fi

rm -rf "$WORK"; mkdir -p "$WORK/ctx"
# python3-venv brings ensurepip (the Containerfile's build stage makes a virtualenv); the runtime stage
# needs only python3 itself.
debootstrap --variant=minbase --include=python3,python3-venv bookworm "$WORK/rootfs" "$MIRROR"
if grep -q " $WORK/rootfs" /proc/self/mounts; then
  echo "something is still mounted under $WORK/rootfs; stopping" >&2; exit 1
fi
# No package lists or downloaded .debs in the base: the image under test must be judged on its own layers.
rm -rf "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/var/cache/apt/*.bin "$WORK"/rootfs/var/cache/apt/archives/*.deb
tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/ctx/rootfs.tar" .
rm -rf --one-file-system "$WORK/rootfs"
printf 'FROM scratch\nADD rootfs.tar /\nCMD ["python3"]\n' > "$WORK/ctx/Containerfile"
buildah build --isolation chroot --layers=false -q -t "$TAG" -f "$WORK/ctx/Containerfile" "$WORK/ctx"
rm -rf "$WORK"
