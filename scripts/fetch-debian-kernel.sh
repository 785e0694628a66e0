#!/usr/bin/env bash
# Fetches a real Debian x86_64 kernel (bzImage) for the loader tests.
#
# Downloads the newest linux-image-<ver>-amd64 package that apt knows about
# (the -unsigned variant when there is one: the signed package only wraps the
# same image in a PE signature), extracts boot/vmlinuz-* with dpkg-deb and
# leaves it in the cache folder. A kernel already there is reused.
#
# Usage: scripts/fetch-debian-kernel.sh        prints the path of the bzImage
# Tests find it there, or through TSVMM_DEBIAN_BZIMAGE=/path/to/vmlinuz.
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/tsvmm/debian-kernel"
mkdir -p "$cache"

existing=$(find "$cache" -maxdepth 1 -type f -name 'vmlinuz-*' | sort -V | tail -n 1)
if [ -n "$existing" ]; then
  echo "$existing"
  exit 0
fi

# Generic flavour only (not -cloud-, -rt-); newest ABI by version sort.
pattern='^linux-image-[0-9][0-9.]*-[0-9]+-amd64(-unsigned)?$'
list_candidates() {
  apt-cache search --names-only '^linux-image-[0-9].*-amd64' | awk '{print $1}' | grep -E "$pattern" || true
}

candidates=$(list_candidates)
if [ -z "$candidates" ]; then
  echo "apt-cache found no linux-image packages; running apt-get update" >&2
  apt-get update >&2
  candidates=$(list_candidates)
fi
if [ -z "$candidates" ]; then
  echo "error: no linux-image-<ver>-amd64 package is known to apt" >&2
  exit 1
fi

newest=$(echo "$candidates" | sed -E 's/-unsigned$//' | sort -uV | tail -n 1)
pkg="$newest"
if echo "$candidates" | grep -qx "$newest-unsigned"; then
  pkg="$newest-unsigned"
fi
echo "downloading $pkg" >&2

work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt-get download writes into the current directory.
(cd "$work" && apt-get download "$pkg" >&2)
deb=$(find "$work" -maxdepth 1 -name '*.deb' | head -n 1)
if [ -z "$deb" ]; then
  echo "error: apt-get download $pkg produced no .deb" >&2
  exit 1
fi
dpkg-deb -x "$deb" "$work/root"
image=$(find "$work/root/boot" -maxdepth 1 -type f -name 'vmlinuz-*' | head -n 1)
if [ -z "$image" ]; then
  echo "error: $pkg contains no boot/vmlinuz-*" >&2
  exit 1
fi
dest="$cache/$(basename "$image")"
cp "$image" "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "$dest"
