#!/usr/bin/env bash
# Build the Docker images of the local services (automarket/ffmpeg, automarket/tts,
# automarket/stt) on a machine with no registry. Their base image is an ARG of each Dockerfile
# (node:20-bookworm-slim for users with a registry); here it is automarket/base:bookworm-node20,
# made once from a `debootstrap --variant=minbase bookworm` root filesystem plus this machine's
# Node 20 binary (Debian 12's nodejs is 18), imported with `docker import`. Both steps are skipped
# when their image is there and current: the base when it exists, a service image when its
# label automarket.source-hash matches the sources (Dockerfile, bin, src, lock file, base).
#
#   scripts/docker-images.sh [ffmpeg|tts|stt ...]      (default: all three)
#
# Needs a running engine (DOCKER_HOST), root (or sudo) to install debootstrap and to run it.
# Engines (ffmpeg, flite, pocketsphinx) are installed by the Dockerfiles from Debian's
# repository, so `docker build` runs with --network host.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

docker=${DOCKER_CLI:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )}
base=${AUTOMARKET_BASE_IMAGE:-automarket/base:bookworm-node20}
mirror=${AUTOMARKET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
prefix=${AUTOMARKET_IMAGE_PREFIX:-automarket}
services=("$@")
[ ${#services[@]} -gt 0 ] || services=(ffmpeg tts stt)
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi

log() { echo "docker-images: $*"; }
exists() { "$docker" image inspect "$1" >/dev/null 2>&1; }

"$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1 || {
  echo "docker-images: no Docker engine answers at ${DOCKER_HOST:-the default socket} (start one: scripts/docker-env.sh up)" >&2
  exit 1
}

# 1. The base image: minbase Debian 12 + Node 20, imported from a root filesystem.
if exists "$base"; then
  log "base $base: cached"
elif [[ "$base" != automarket/* ]]; then
  log "base $base: not here; pulling it (needs a registry)"
  "$docker" pull "$base"
else
  started=$(date +%s)
  node_bin=$(node -p process.execPath)
  node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
  [ "$node_major" -ge 20 ] || { echo "docker-images: need Node >= 20 to copy into the base image, have $("$node_bin" -v)" >&2; exit 1; }
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  rootfs=$(mktemp -d /tmp/automarket-rootfs-XXXXXX)
  trap '$sudo rm -rf "$rootfs"' EXIT
  log "base $base: debootstrap --variant=minbase bookworm ($mirror)"
  $sudo debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -20 "$rootfs.log" >&2; exit 1
  }
  rm -f "$rootfs.log"
  host=${mirror%/debian}
  $sudo tee "$rootfs/etc/apt/sources.list" >/dev/null <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${host}/debian-security bookworm-security main
SOURCES
  # Keep images small, as the slim images do: no recommends, no docs, no apt caches.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' | $sudo tee "$rootfs/etc/apt/apt.conf.d/99automarket" >/dev/null
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' | $sudo tee "$rootfs/etc/dpkg/dpkg.cfg.d/99automarket" >/dev/null
  $sudo rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
  $sudo install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  $sudo tar -C "$rootfs" --numeric-owner -c . | "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$base" >/dev/null
  $sudo rm -rf "$rootfs"
  trap - EXIT
  log "base $base: built in $(( $(date +%s) - started )) s"
fi
base_id=$("$docker" image inspect --format '{{.Id}}' "$base")

# 2. The build context: what a service runs (bin, dist/cli-bundle, src, tsconfig, package.json) and the
#    production node_modules only (hard links, so it is quick), not the dev tools.
context=""
make_context() {
  [ -z "$context" ] || return 0
  context=$(mktemp -d /tmp/automarket-context-XXXXXX)
  trap 'rm -rf "$context" "$context".build-*.log' EXIT
  cp -al bin src package.json tsconfig.json .dockerignore "$context/"
  # The CLI bundle (scripts/build.mjs --cli): what a service runs (bin/ runs it directly when there
  # is no scripts/ folder, as in the images; tsx is a dev dependency, not in the images).
  node scripts/build.mjs --cli >/dev/null 2>&1 && [ -f dist/cli-bundle/automarket.cjs ] ||
    { echo "docker-images: the CLI bundle could not be built (node scripts/build.mjs --cli)" >&2; exit 1; }
  mkdir -p "$context/dist" && cp -al dist/cli-bundle "$context/dist/"
  npm ls --omit=dev --all --parseable 2>/dev/null | sed -n "s#^$root/node_modules/#node_modules/#p" | sort -u |
    while read -r dir; do mkdir -p "$context/$(dirname "$dir")"; [ -e "$context/$dir" ] || cp -al "$dir" "$context/$dir"; done
}

# 3. The service images, rebuilt only when their sources changed; the builds run side by side,
#    except on a cold start: then the first one builds alone, so that the others find its
#    (identical) first layer, ffmpeg, in the cache instead of installing it again.
cold=1
for service in ffmpeg tts stt; do exists "$prefix/$service:latest" && cold=0; done
pending=()
started=$(date +%s)
for service in "${services[@]}"; do
  dockerfile="src/services/$service/Dockerfile"
  [ -f "$dockerfile" ] || { echo "docker-images: no $dockerfile" >&2; exit 1; }
  image="$prefix/$service:latest"
  hash=$( { echo "$base_id"; cat "$dockerfile" package-lock.json tsconfig.json;
            find bin src -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)
  if [ "$("$docker" image inspect --format '{{index .Config.Labels "automarket.source-hash"}}' "$image" 2>/dev/null)" = "$hash" ]; then
    log "$image: cached"
    continue
  fi
  make_context
  log "$image: building"
  "$docker" build --network host --build-arg "BASE_IMAGE=$base" --label "automarket.source-hash=$hash" \
    -f "$context/$dockerfile" -t "$image" "$context" >"$context.build-$service.log" 2>&1 &
  pending+=("$service:$!")
  if [ "$cold" -eq 1 ]; then wait "$!" || true; cold=0; fi
done
failed=0
for entry in "${pending[@]}"; do
  service=${entry%%:*}
  if wait "${entry#*:}"; then log "$prefix/$service:latest: built ($(( $(date +%s) - started )) s)"; else
    echo "docker-images: building $prefix/$service:latest failed:" >&2; tail -30 "$context.build-$service.log" >&2; failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1
"$docker" image prune -f --filter "label=automarket.source-hash" >/dev/null 2>&1 || true
