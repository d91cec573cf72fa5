#!/usr/bin/env bash
# Build a scaffold's image and run it as the AnoMed platform runs containers,
# with podman (or CONTAINER_ENGINE=docker): port 80, peers' hosts without a
# port, the model on a named volume at /persistent_data, the platform stub
# driving /fit and /evaluate. No registry is needed: the base image is built
# locally with debootstrap (Debian bookworm, Python 3.11) unless BASE_IMAGE
# names one the engine has.
#
#   tests/containers/build_and_run.sh [TEMPLATE]     (default: supervised)
#
# Needs root (debootstrap, and podman's networks with DNS), and PyPI from
# inside the build (the image installs everything at build time). Prints SKIP
# and exits 0 where the engine or debootstrap is missing.
set -euo pipefail

TEMPLATE=${1:-supervised}
ENGINE=${CONTAINER_ENGINE:-podman}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
BASE_IMAGE=${BASE_IMAGE:-localhost/anomed-base:bookworm}
TAG=localhost/anomed-scaffold-$TEMPLATE:test
RUN=anomed-ct-$$
PORT=${PORT:-18002}
STUB_PORT=$((PORT + 1))

skip() { echo "SKIP: $*"; exit 0; }
command -v "$ENGINE" >/dev/null || skip "$ENGINE is not installed"
"$ENGINE" info >/dev/null 2>&1 || skip "$ENGINE does not run here ($ENGINE info fails)"

WORK=$(mktemp -d)
cleanup() {
    for c in "$RUN-platform" "$RUN-attack" "$RUN-anonymizer" "$RUN-challenge"; do
        "$ENGINE" rm -f "$c" >/dev/null 2>&1 || true
    done
    "$ENGINE" volume rm -f "$RUN-data" >/dev/null 2>&1 || true
    "$ENGINE" network rm -f "$RUN" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }
logs() {
    for c in "$RUN-challenge" "$RUN-anonymizer" "$RUN-attack" "$RUN-platform"; do
        echo "--- $c log ends:"; "$ENGINE" logs --tail 40 "$c" 2>&1 || true
    done
}
fail() {
    echo "FAIL: $*"; logs
    [ -s "$WORK/engine.log" ] && { echo "--- engine messages:"; tail -20 "$WORK/engine.log"; }
    exit 1
}

if ! "$ENGINE" image exists "$BASE_IMAGE" 2>/dev/null; then
    command -v debootstrap >/dev/null || skip "no $BASE_IMAGE and no debootstrap to build it"
    step "base image $BASE_IMAGE: debootstrap --variant=minbase bookworm"
    debootstrap --variant=minbase \
        --include=python3,python3-venv,python-is-python3,ca-certificates \
        bookworm "$WORK/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
        > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; exit 1; }
    # This machine's CA bundle: pip in the build trusts what pip here trusts
    # (an egress proxy's CA, where there is one).
    cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
    tar -C "$WORK/rootfs" -c . | "$ENGINE" import \
        --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null 2>>"$WORK/engine.log"
    rm -rf "$WORK/rootfs"
fi

# Where the engine may not raise rlimits (no CAP_SYS_RESOURCE: podman's
# defaults exceed the hard limits) or crun does not take hybrid cgroups:
# the hard limits themselves, and runc.
ENGINE_FLAGS=()
probe() { "$ENGINE" run --rm "${ENGINE_FLAGS[@]}" "$BASE_IMAGE" true >/dev/null 2>&1; }
if ! probe; then
    ENGINE_FLAGS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
    if ! probe; then
        ENGINE_FLAGS+=(--runtime runc)
        probe || { "$ENGINE" run --rm "${ENGINE_FLAGS[@]}" "$BASE_IMAGE" true; exit 1; }
    fi
    echo "engine flags: ${ENGINE_FLAGS[*]}"
fi

step "init --template=$TEMPLATE"
PYTHONPATH="$REPO/src" "$PYTHON" -m anomed_anonymizer init "$WORK/app" \
    --template="$TEMPLATE" >/dev/null

step "build $TAG FROM $BASE_IMAGE"
# podman writes OCI images by default, which drop HEALTHCHECK: Docker's.
build_format=(); [ "$(basename "$ENGINE")" = podman ] && build_format=(--format docker)
"$ENGINE" build "${ENGINE_FLAGS[@]}" "${build_format[@]}" --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$TAG" "$WORK/app" >/dev/null

attack=()
if [ -f "$WORK/app/Dockerfile.attack" ]; then
    step "build $TAG-attack (Dockerfile.attack) FROM $BASE_IMAGE"
    "$ENGINE" build "${ENGINE_FLAGS[@]}" "${build_format[@]}" --quiet \
        --build-arg "BASE_IMAGE=$BASE_IMAGE" -f "$WORK/app/Dockerfile.attack" \
        -t "$TAG-attack" "$WORK/app" >/dev/null
    # The attack's command, as compose.yaml gives it.
    mapfile -t attack < <("$PYTHON" -c '
import re, sys, json
text = open(sys.argv[1]).read()
block = text.split("\n  attack:\n", 1)[1]
print("\n".join(json.loads(re.search(r"command: (\[.*\])", block).group(1))))
' "$WORK/app/compose.yaml")
fi

step "run: challenge, anonymizer (volume at /persistent_data), on network $RUN"
"$ENGINE" network create "$RUN" >/dev/null
"$ENGINE" volume create "$RUN-data" >/dev/null
port80=("${ENGINE_FLAGS[@]}" --network "$RUN" --sysctl net.ipv4.ip_unprivileged_port_start=0)
splits=(--splits tuning,validation)
case "$TEMPLATE" in
    tabular) challenge_args=(--kind tabular) splits=(--splits "") ;;
    torch-regression) challenge_args=(--task regression) ;;
    *) challenge_args=() ;;
esac
"$ENGINE" run -d --name "$RUN-challenge" --network-alias challenge "${port80[@]}" \
    -e ANOMED_HOST=platform "$TAG" anomed-anonymizer emulate-challenge \
    "${challenge_args[@]}" --host 0.0.0.0 --port 80 --workers 1 >/dev/null 2>>"$WORK/engine.log"
start_anonymizer() {
    "$ENGINE" run -d --name "$RUN-anonymizer" --network-alias anonymizer "${port80[@]}" \
        -e CHALLENGE_HOST=challenge -v "$RUN-data:/persistent_data" \
        -p "127.0.0.1:$PORT:80" "$TAG" >/dev/null 2>>"$WORK/engine.log"
}
start_anonymizer
wait_alive() {  # URL: GET / answers 200 within 300 s
    for _ in $(seq 300); do
        curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null && return 0
        sleep 1
    done
    fail "$1 did not answer in 300 s"
}
wait_alive "http://127.0.0.1:$PORT/"
echo "GET / -> $(curl -fsS "http://127.0.0.1:$PORT/")"
if [ "$(basename "$ENGINE")" = podman ]; then  # the image's HEALTHCHECK, run once
    "$ENGINE" healthcheck run "$RUN-anonymizer" 2>>"$WORK/engine.log" \
        || fail "the image's HEALTHCHECK failed"
    echo "HEALTHCHECK: healthy"
fi
echo "runs as: $("$ENGINE" exec "$RUN-anonymizer" id -u) (uid), /persistent_data: $("$ENGINE" exec "$RUN-anonymizer" stat -c %u /persistent_data)"

stub_targets=(--anonymizer anonymizer:80)
if [ ${#attack[@]} -gt 0 ]; then
    "$ENGINE" run -d --name "$RUN-attack" --network-alias attack "${port80[@]}" \
        -e ATTACK_TARGET_HOST=anonymizer "$TAG-attack" "${attack[@]}" >/dev/null 2>>"$WORK/engine.log"
    stub_targets+=(--attack attack:80)
fi

step "the platform stub drives /fit and /evaluate (a container, --exit-when-done)"
"$ENGINE" run --name "$RUN-platform" --network-alias platform "${port80[@]}" \
    -p "127.0.0.1:$STUB_PORT:80" "$TAG" anomed-anonymizer platform-stub \
    "${stub_targets[@]}" "${splits[@]}" --host 0.0.0.0 --port 80 \
    --wait 300 --exit-when-done 2>&1 | grep 'platform stub' | cut -c1-300 \
    || true
status=$("$ENGINE" inspect --format '{{.State.ExitCode}}' "$RUN-platform")
[ "$status" = 0 ] || fail "the platform stub's run failed (exit $status)"
"$ENGINE" logs "$RUN-challenge" 2>&1 | grep -q "platform" \
    && echo "(the challenge logged forwarding to the platform)" || true

step "curl /fit and /evaluate from this machine (published port $PORT)"
code=$(curl -sS -o "$WORK/fit.json" -w '%{http_code}' -X POST --max-time 900 \
    "http://127.0.0.1:$PORT/fit?refit=true")
[ "$code" = 201 ] || fail "POST /fit answered $code: $(cat "$WORK/fit.json")"
echo "POST /fit -> $code $(cat "$WORK/fit.json")"
query=""; [ "$TEMPLATE" = tabular ] || query="?data_split=tuning"
code=$(curl -sS -o "$WORK/evaluate.json" -w '%{http_code}' -X POST --max-time 300 \
    "http://127.0.0.1:$PORT/evaluate$query")
[ "$code" = 201 ] || fail "POST /evaluate answered $code: $(cat "$WORK/evaluate.json")"
echo "POST /evaluate$query -> $code $(cat "$WORK/evaluate.json")"

step "a re-created anonymizer container keeps its state on the volume"
"$ENGINE" rm -f "$RUN-anonymizer" >/dev/null 2>>"$WORK/engine.log"
start_anonymizer
wait_alive "http://127.0.0.1:$PORT/"
code=$(curl -sS -o "$WORK/evaluate2.json" -w '%{http_code}' -X POST --max-time 300 \
    "http://127.0.0.1:$PORT/evaluate$query")
[ "$code" = 201 ] || fail "POST /evaluate after re-creating answered $code: $(cat "$WORK/evaluate2.json")"
echo "POST /evaluate$query (no refit) -> $code"

printf '\nPASS: %s image built and run as the platform runs it in %ss\n' "$TEMPLATE" "$SECONDS"
