# fpgaserve container image: the daemon, the bundled demo model, nothing else.
#
#   podman build --format docker -t fpgaserve .          (docker build -t fpgaserve . works the same)
#   podman run --rm -p 127.0.0.1:8080:8080 fpgaserve     (simulated card, bundled demo model)
#
# Two stages on Debian 12. The build stage installs what building the daemon needs with
# deploy/install-deps.sh (its `daemon` group: no clang, checkers or test tools) and builds only the
# `fpgaserve` target, for any x86-64 CPU
# (-DFPGASERVE_NATIVE=OFF). The runtime stage installs exactly the shared libraries the binary was
# linked against, as Debian packages: dpkg-shlibdeps reads them off the binary in the build stage
# (measured: libc6 libcpp-httplib0.11 libfmt9 libgcc-s1 libgomp1 libprometheus-cpp-core1.0
# libspdlog1.10-fmt9 libstdc++6 libuuid1 libxrt1, the last with XRT's runtime libraries and shims),
# so the list follows the link line and never goes stale.
#
# BASE: any Debian 12 image. smoke.sh passes a base made locally with debootstrap when no image
# registry can be reached (deploy/container/README.md).
#
# Run time, all overridable (flag > FPGASERVE_* environment > --config file > default):
#   FPGASERVE_MODELS_DIR  folder of the default model and tokenizer (the bundled demo model here)
#   FPGASERVE_MODEL, FPGASERVE_TOKENIZER, FPGASERVE_DEVICE, FPGASERVE_XCLBIN, FPGASERVE_CONFIG, FPGASERVE_PORT
#   e.g. -v /srv/models:/models:ro -e FPGASERVE_MODEL=/models/stories110M-q8.bin -e FPGASERVE_TOKENIZER=/models/tokenizer.bin
ARG BASE=debian:bookworm

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# Dependencies first, in their own layer, so that a source change does not reinstall them.
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN deploy/install-deps.sh daemon \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DFPGASERVE_NATIVE=OFF -DBUILD_TESTING=OFF \
 && cmake --build /build --target fpgaserve -j"$(nproc)" \
 && mkdir -p /out/models \
 && install -m 0755 -s /build/fpgaserve /out/fpgaserve \
 && cp -a models/. /out/models/
# The runtime packages: dpkg-shlibdeps maps every library the binary needs to its Debian package
# (first alternative of each dependency, version constraints dropped: both stages share BASE).
RUN mkdir -p /tmp/shlibs/debian \
 && printf 'Source: fpgaserve\n\nPackage: fpgaserve\nArchitecture: any\n' >/tmp/shlibs/debian/control \
 && cd /tmp/shlibs \
 && dpkg-shlibdeps -O -e /out/fpgaserve \
    | sed -e 's/^shlibs:Depends=//' | tr ',' '\n' \
    | sed -e 's/|.*//' -e 's/(.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u >/out/runtime-packages \
 && echo "runtime packages:" $(cat /out/runtime-packages)

FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages /usr/share/fpgaserve/runtime-packages
RUN apt-get update -qq \
 && xargs -a /usr/share/fpgaserve/runtime-packages apt-get install -y -qq --no-install-recommends >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --system --gid 10001 fpgaserve \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/fpgaserve --create-home \
            --shell /usr/sbin/nologin fpgaserve
COPY --from=build /out/fpgaserve /usr/bin/fpgaserve
COPY --from=build /out/models/ /usr/share/fpgaserve/models/
# Fail the build, not the first start, when a shared library is missing.
RUN ! ldd /usr/bin/fpgaserve | grep 'not found' && /usr/bin/fpgaserve --version

ENV FPGASERVE_MODELS_DIR=/usr/share/fpgaserve/models \
    FPGASERVE_PORT=8080
USER fpgaserve
WORKDIR /var/lib/fpgaserve
EXPOSE 8080
# The health check speaks HTTP through bash's /dev/tcp (bash is Essential in every Debian image):
# no curl, and none of the TLS/LDAP/SSH libraries curl would bring into the image. 200 = ready;
# 503 while the model loads (covered by start-period) or while draining after SIGTERM.
# Podman keeps HEALTHCHECK only in docker-format images (podman build --format docker).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${FPGASERVE_PORT:-8080} && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r _ code _ <&3 && [ \"$code\" = 200 ]"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/fpgaserve"]
# --host in the command (a container always listens on all its interfaces); the port comes from
# FPGASERVE_PORT so that `-e FPGASERVE_PORT=...` moves the server and the health check together.
CMD ["serve", "--host", "0.0.0.0", "--chat-template", "plain"]
