#!/usr/bin/env bash
# Makes a Docker engine and velo's test image ready, idempotently (CI and the Docker tests run it;
# running it twice, or from two tests at once, is safe):
# - starts dockerd if `docker info` fails: `--iptables=false` (no firewall rules: sandboxes and CI
#   machines often may not write them), with its default bridge, else `--bridge=none` (then only
#   host networking works), else the vfs storage driver; log in $VELO_DOCKERD_LOG;
# - imports `velo-test-busybox:local` if missing: a rootfs of Debian's busybox-static (`busybox
#   httpd` serves HTTP), made offline with `docker import` since no image registry is reachable.
# Prints `docker: ready (...)` and exits 0; exits 2 with the reason on stderr when dockerd is not
# installed or cannot start (the tests then skip with that reason); 1 when the image cannot be made.
set -uo pipefail

IMAGE=velo-test-busybox:local
LOG=${VELO_DOCKERD_LOG:-/tmp/velo-dockerd.log}
exec 9>/tmp/velo-docker-test-env.lock
flock -w 120 9 || { echo "docker-test-env: another run holds the lock" >&2; exit 2; }

ready() { timeout 5 docker info >/dev/null 2>&1; }

if ! ready; then
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker-test-env: dockerd is not installed (apt-get install docker.io)" >&2
    exit 2
  fi
  started=""
  for extra in "" "--bridge=none" "--bridge=none --storage-driver=vfs"; do
    echo "docker-test-env: starting dockerd --iptables=false $extra (log: $LOG)" >&2
    # shellcheck disable=SC2086
    # 9>&-: dockerd must not inherit (and so hold forever) this script's lock.
    setsid nohup dockerd --iptables=false $extra >>"$LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    for _ in $(seq 1 60); do
      if ready; then started=yes; break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    [ -n "$started" ] && break
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  done
  if [ -z "$started" ]; then
    echo "docker-test-env: dockerd could not start on this machine; last lines of $LOG:" >&2
    tail -n 5 "$LOG" >&2
    exit 2
  fi
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  # A static busybox runs in an empty rootfs; Debian's dynamic `busybox` package would not.
  busybox=$(command -v busybox || true)
  if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    echo "docker-test-env: a static busybox is not installed (apt-get install busybox-static)" >&2
    exit 1
  fi
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc"
  chmod 1777 "$root/tmp"
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo ok >"$root/www/health"
  echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
  tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null || {
    rm -rf "$root"
    echo "docker-test-env: docker import of $IMAGE failed" >&2
    exit 1
  }
  rm -rf "$root"
fi

bridge=$(docker network inspect bridge >/dev/null 2>&1 && echo "bridge network" || echo "host networking only")
echo "docker: ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null), $bridge, image $IMAGE)"
