# azul-backup: the host binary, its two orchestration components and the dispatcher emulator
# (which `drill` starts). Build from the repository root:
#   docker build -t azul-backup .
#   docker run --rm -e BK__DISPATCHER_EVENTS=http://dispatcher:8111 -e BK__EXTERNAL_BACKUP__ENDPOINT=s3:9000 … azul-backup backup
# The components sit next to the executable in /opt/azul-backup; to hot-swap the logic, mount a
# directory and point AZUL_BACKUP_COMPONENT / AZUL_RESTORE_COMPONENT at files in it.

FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-wasip2
WORKDIR /src
COPY . .
RUN scripts/build-guests.sh \
 && cargo build --locked --release -p azul-backup -p azul-dispatcher-emulator

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/azul-backup /src/target/release/azul-dispatcher-emulator /opt/azul-backup/
COPY --from=build /src/target/wasm32-wasip2/guest/guest_backup.wasm /src/target/wasm32-wasip2/guest/guest_restore.wasm /opt/azul-backup/
RUN ln -s /opt/azul-backup/azul-backup /usr/local/bin/azul-backup \
 && mkdir -p /var/lib/azul-backup && chown 65532:65532 /var/lib/azul-backup
USER 65532:65532
# The state directory ("filecache"): give it a persistent volume.
ENV BK__LOCAL_DATA__ROOTDIR=/var/lib/azul-backup
VOLUME /var/lib/azul-backup
# Prometheus /metrics, /healthz, /readyz
EXPOSE 8900
ENTRYPOINT ["azul-backup"]
CMD ["backup"]
