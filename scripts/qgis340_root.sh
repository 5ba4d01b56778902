#!/bin/bash
# The suite against QGIS 3.40 LTR (Debian 13 "trixie": Python 3.13, numpy 2, GDAL 3.10) on any Debian machine:
# builds a Debian 13 root with debootstrap in an ignored folder (once; kept for the next run), copies this
# checkout into it and runs `make <target>` there in a chroot. Needs root, debootstrap and a Debian mirror.
#   scripts/qgis340_root.sh [make target...]      (default: test)
set -euo pipefail
ROOT=${QGIS340_ROOT:-build/debian13}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TARGETS=("${@:-test}")
# What Debian 13 gives a QGIS user, plus Debian's CPU build of torch (QGIS's Python 3.13 imports it), make and
# lrelease for the translations.
PACKAGES="qgis python3-qgis qgis-providers python3-gdal gdal-bin python3-sklearn python3-matplotlib python3-scipy
python3-venv python3-pip python3-torch qttools5-dev-tools make git ca-certificates locales"

if [ "$(id -u)" != 0 ]; then echo "Run as root (debootstrap and chroot need it)." >&2; exit 1; fi
command -v debootstrap >/dev/null || { echo "Install debootstrap: apt-get install -y debootstrap" >&2; exit 1; }

if [ ! -e "$ROOT/.mpm3d-ready" ]; then
  echo "Building a Debian 13 root in $ROOT (once; a few minutes and about 3 GB)"
  rm -rf --one-file-system "$ROOT" && mkdir -p "$ROOT"
  debootstrap --variant=minbase trixie "$ROOT" "$MIRROR"
  echo "deb $MIRROR trixie main" > "$ROOT/etc/apt/sources.list"
  chroot "$ROOT" apt-get update -q
  DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get install -y -q --no-install-recommends $PACKAGES
  touch "$ROOT/.mpm3d-ready"
fi

mounted=()
cleanup() { for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[i]}" || true; done; }
trap cleanup EXIT
for fs in proc sys dev dev/pts; do
  mountpoint -q "$ROOT/$fs" || { mount --bind "/$fs" "$ROOT/$fs"; mounted+=("$ROOT/$fs"); }
done
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# Certificate authorities this machine added locally (a network's proxy), so that pip in the root reaches PyPI too.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  chroot "$ROOT" update-ca-certificates >/dev/null
fi

# A clone of this checkout (its history: `make zip` archives HEAD) with the working tree's files laid over it
# (tracked and untracked-but-not-ignored), never this machine's venv or builds; the root's own venv is kept.
DEST="$ROOT/work/mpm3d"
rm -rf "$DEST.new" && git clone -q --no-hardlinks "$PWD" "$DEST.new"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$DEST.new"
if [ -d "$DEST/.venv" ]; then mv "$DEST/.venv" "$DEST.new/.venv"; fi
rm -rf "$DEST" && mv "$DEST.new" "$DEST"
chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
  bash -c "cd /work/mpm3d && make ${TARGETS[*]}"
