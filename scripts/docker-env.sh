#!/usr/bin/env bash
# A private Docker engine for the tests and for `automarket services` on machines without
# systemd: Debian's docker.io, dockerd on the socket /tmp/am-docker/docker.sock with the bridge
# and iptables off (containers use host networking), plus the service images.
#
#   scripts/docker-env.sh up [--no-images]   install docker.io when missing, start dockerd when it
#                                            does not answer, build the images when not cached;
#                                            prints "started" or "running" as its last line
#   scripts/docker-env.sh down               stop the dockerd started by `up` (by its pid file)
#
# Use it with: export DOCKER_HOST=unix:///tmp/am-docker/docker.sock
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${AUTOMARKET_DOCKER_DIR:-/tmp/am-docker}
sock="$dir/docker.sock"
export DOCKER_HOST="unix://$sock"
docker=$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi

answers() { [ -S "$sock" ] && "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

up() {
  local images=1
  [ "${1:-}" != "--no-images" ] || images=0
  mkdir -p "$dir"
  exec 9>"$dir.lock"
  flock 9 # one `up` at a time (parallel test files)
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker-env: installing docker.io"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  local state=running
  if ! answers; then
    echo "docker-env: starting dockerd on $sock"
    rm -f "$sock" "$dir/docker.pid"
    $sudo dockerd --host="$DOCKER_HOST" --data-root="$dir/data" --exec-root="$dir/exec" \
      --pidfile="$dir/docker.pid" --bridge=none --iptables=false --ip6tables=false \
      >"$dir/dockerd.log" 2>&1 </dev/null 9>&- &
    for _ in $(seq 1 150); do answers && break; sleep 0.2; done
    answers || { echo "docker-env: dockerd did not answer within 30 s:" >&2; tail -20 "$dir/dockerd.log" >&2; exit 1; }
    state=started
  fi
  [ "$images" -eq 0 ] || bash scripts/docker-images.sh
  echo "$state"
}

down() {
  [ -f "$dir/docker.pid" ] || { echo "docker-env: no dockerd of ours"; return 0; }
  local pid
  pid=$(cat "$dir/docker.pid")
  if kill -0 "$pid" 2>/dev/null; then
    $sudo kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { echo "docker-env: dockerd $pid still runs after 20 s" >&2; return 1; }
  fi
  rm -f "$dir/docker.pid"
  echo "docker-env: dockerd stopped"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  *) echo "usage: scripts/docker-env.sh up [--no-images] | down" >&2; exit 2 ;;
esac
