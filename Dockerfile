# Keyport container image: every binary of build/bin in one image; the
# command chooses the process (keyport-gateway, keyport-auth, ...).
#   docker build -t keyport .
# Stage 1 builds with the project's own Makefile on Debian 12; stage 2 has
# only the runtime libraries, curl (for the gateway's health check) and a
# non-root user.

FROM debian:12-slim AS build
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

FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libnng1 libprotobuf-c1 libpq5 libmicrohttpd12 libjansson4 \
      libsodium23 libcurl4 zlib1g ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 keyport \
 && useradd --system --uid 10001 --gid keyport --home-dir /var/lib/keyport \
      --shell /usr/sbin/nologin keyport \
 && install -d -o keyport -g keyport -m 0750 /var/lib/keyport \
 && install -d -o keyport -g keyport -m 0700 /var/lib/keyport/secrets
COPY --from=build /out/ /usr/local/bin/
ENV KEYPORT_DATA_DIR=/var/lib/keyport \
    KEYPORT_SECRET_DIR=/var/lib/keyport/secrets
USER 10001:10001
WORKDIR /var/lib/keyport
EXPOSE 8080 7101 7102 7103 7104 7105
CMD ["keyport-gateway"]
