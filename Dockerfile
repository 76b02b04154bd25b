# Keyport container image: every binary of build/bin in one image; the
# command chooses the process (keyport-gateway, keyport-auth, ...). One
# image rather than one per service: the six programs share one static
# library, one set of runtime packages and one version, so one image is one
# build, one scan and one tag to roll out, and each extra process costs
# ~1 MB of binary (docs/deploy.md).
#   docker build -t keyport:0.1.0 .
# Stage 1 builds with the project's own Makefile on Debian 12; stage 2 has
# only the runtime libraries, curl (for the gateway's health check), the
# portal's static files (web/, served by the gateway from KEYPORT_WEB_DIR)
# and a non-root user. The base image is pinned to a Debian point release
# (12.11, the release of the package snapshot the project builds on);
# pin it by digest in your registry mirror if you need byte-identical
# rebuilds.
# No Docker engine is available where this file is maintained: the static
# tests check it (tests/static/deploy.test.mjs), they do not build it.

FROM debian:12.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential make pkg-config \
      libnng-dev libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev \
      libpq-dev libmicrohttpd-dev libjansson-dev libsodium-dev zlib1g-dev \
      libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" build \
 && mkdir -p /out \
 && cp build/bin/* /out/ \
 && strip /out/*

FROM debian:12.11-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libnng1 libprotobuf-c1 libpq5 libmicrohttpd12 libjansson4 \
      libsodium23 libcurl4 zlib1g ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 keyport \
 && useradd --system --uid 10001 --gid keyport --home-dir /var/lib/keyport \
      --shell /usr/sbin/nologin keyport \
 && install -d -o keyport -g keyport -m 0750 /var/lib/keyport \
 && install -d -o keyport -g keyport -m 0700 /var/lib/keyport/secrets \
 && install -d -o keyport -g keyport -m 0750 /var/lib/keyport/releases
COPY --from=build /out/ /usr/local/bin/
COPY scripts/container-health.sh /usr/local/bin/keyport-health
COPY web/ /usr/share/keyport/web/
ENV KEYPORT_DATA_DIR=/var/lib/keyport \
    KEYPORT_SECRET_DIR=/var/lib/keyport/secrets \
    KEYPORT_WEB_DIR=/usr/share/keyport/web
USER 10001:10001
WORKDIR /var/lib/keyport
EXPOSE 8080 7101 7102 7103 7104 7105
# Whatever the command: the gateway's own readiness, or a service's health
# RPC to its own listener (keyport-<svc> --check).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["keyport-health"]
CMD ["keyport-gateway"]
