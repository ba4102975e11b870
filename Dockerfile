# syntax=docker/dockerfile:1
# sipcred-operator image: built with the Rust toolchain, run on distroless as uid 65532.
#
#   docker build -t ghcr.io/sipcred/sipcred-operator:0.1.0 .
#
# The binary links glibc and libgcc dynamically (rustls with ring: no OpenSSL), which
# distroless/cc provides; nothing else is in the final image (no shell, no package manager).

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target/ between builds; the binary is copied out
# in the same step because the target/ cache is not part of the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin sipcred-operator \
 && install -D -m 0755 target/release/sipcred-operator /out/sipcred-operator

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="sipcred-operator" \
      org.opencontainers.image.description="Kubernetes operator that provisions SIP credentials at Telnyx and Vobiz" \
      org.opencontainers.image.source="https://github.com/sipcred/sipcred-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/sipcred-operator /sipcred-operator
# distroless "nonroot" is uid/gid 65532; set numerically so runAsNonRoot can verify it.
USER 65532:65532
# --metrics-addr and --health-addr.
EXPOSE 8080 8081
ENTRYPOINT ["/sipcred-operator"]
CMD ["run"]
