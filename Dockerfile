# syntax=docker/dockerfile:1
#
# One image with the three binaries (coin-api, coin-worker, coin-controller); each container picks
# its command. Build: `docker build -t peoples-coin:local .` (BuildKit, the default since Docker 23,
# keeps the cargo registry and target directory in cache mounts between builds).

# The toolchain must satisfy the strictest dependency MSRV (kube 5 needs 1.89); bookworm matches
# the runtime's glibc.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# The sqlx query macros check every query against the committed .sqlx/ (no database here); a
# query without its data there fails the build (scripts/sqlx-prepare.sh writes it).
ENV SQLX_OFFLINE=true
COPY . .
# Cache mounts are not part of the image, so the binaries are copied out of target/ in the same
# step. --locked: build exactly what Cargo.lock says.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p coin-api -p coin-worker -p coin-controller \
 && mkdir -p /out \
 && cp target/release/coin-api target/release/coin-worker target/release/coin-controller /out/

FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to managed Postgres/Redis and to the Kubernetes API server.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 coin \
 && useradd --system --uid 10001 --gid coin --no-create-home --shell /usr/sbin/nologin coin
COPY --from=builder /out/ /usr/local/bin/
# Numeric user so that Kubernetes' runAsNonRoot can verify it without resolving names.
USER 10001:10001
ENV LOG_FORMAT=json RUST_LOG=info
# coin-api uses mimalloc; return freed memory at once (peak RSS 35 MB instead of 90 MB under
# 64 concurrent connections, see docs/benchmarks.md).
ENV MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0
# API 8000, worker metrics 9464, controller Observability Node 8080.
EXPOSE 8000 9464 8080
CMD ["coin-api"]
