#!/usr/bin/env bash
# Builds `velo-node-base:local`, a stand-in for node:20-bookworm-slim when no image registry can
# be reached (CI, sandboxes): `docker import` of a rootfs made from this machine's own `node`,
# the shared libraries `ldd` lists for it, its npm (the Dockerfile's build stage runs `npm ci`),
# a static busybox for /bin/sh and the usual tools, the machine's CA bundle, and a non-root user
# `node` (uid 1000) as in the official image. Use it with `docker build --build-arg BASE=velo-node-base:local`.
# Idempotent: does nothing when the image exists (FORCE=1 rebuilds). Exits 1 with the reason.
set -euo pipefail

IMAGE=${IMAGE:-velo-node-base:local}
if [ "${FORCE:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "stand-in base: $IMAGE exists"
  exit 0
fi

node=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "stand-in base: a static busybox is needed (apt-get install busybox-static)" >&2
  exit 1
fi
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "stand-in base: npm not found beside node ($npm_dir)" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/lib/node_modules,etc,tmp,home/node,root}
chmod 1777 "$root/tmp"

cp "$node" "$root/usr/local/bin/node"
# The loader and every library node links against, at the same paths.
for lib in $(ldd "$node" | grep -oE '/[^ ]+'); do
  cp --parents -L "$lib" "$root/"
done

cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
# Shebangs name /usr/bin/env (npm's own).
ln -s /bin/busybox "$root/usr/bin/env"

# The machine's trust store: where the npm registry is reached through a TLS-inspecting proxy, the
# build stage's `npm ci` must trust what the host trusts (node reads it via NODE_EXTRA_CA_CERTS).
ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
ca_env=()
if [ -f "$ca" ]; then
  mkdir -p "$root/etc/ssl/certs"
  cp -L "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
  ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
chown -R 1000:1000 "$root/home/node"

tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  "${ca_env[@]}" \
  --change 'ENV NODE_VERSION='"$("$node" --version | tr -d v)" \
  --change 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
echo "stand-in base: built $IMAGE from node $("$node" --version) ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
