#!/bin/sh
# velo in Docker, as README.md's "Run in Docker" shows it (test/integration/docker-image.test.ts
# runs this file): build the image, start a test backend and velo on the host's network, send a
# request through velo, then stop velo, which drains and exits 0.
# Settings: PORT (8080), ADMIN_PORT (8407), BACKEND_PORT (8081), NAME (velo), IMAGE (velo), and
# BASE, a base image to build on when node:20-bookworm-slim cannot be pulled.
set -eu
cd "$(dirname "$0")/.."   # the repository root; README.md quotes what follows

PORT=${PORT:-8080} ADMIN_PORT=${ADMIN_PORT:-8407} BACKEND_PORT=${BACKEND_PORT:-8081}
NAME=${NAME:-velo} IMAGE=${IMAGE:-velo}

docker build --network host ${BASE:+--build-arg BASE="$BASE"} -t "$IMAGE" .
docker run -d --name "$NAME-backend" --network host "$IMAGE" backend --port "$BACKEND_PORT"
docker run -d --name "$NAME" --network host --stop-timeout 15 \
  -v "$PWD/examples/docker/velo.config.yaml:/etc/velo/velo.config.yaml:ro" \
  -e VELO_PORT="$PORT" -e VELO_ADMIN_PORT="$ADMIN_PORT" -e VELO_BACKENDS="http://127.0.0.1:$BACKEND_PORT" \
  "$IMAGE"
for i in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/" && break; sleep 0.5; done
docker stop "$NAME"
docker inspect -f 'velo exited with code {{.State.ExitCode}}' "$NAME"
docker rm -f "$NAME" "$NAME-backend" >/dev/null
