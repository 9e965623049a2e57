# Dockerfile - mite on Debian 12 slim, built from this tree: mited (the
# entrypoint), mitectl, mite-target and the example plugins, run as the
# unprivileged user mite (uid 10001). See docs/distributed.md.
#
#   docker build -t mite .
#   docker run --rm mite --help
#
# A controller (runner port 14301, CURVE keys mounted read-only):
#   docker run -d --name mite-controller -p 14301:14301 -v "$PWD/keys:/etc/mite/keys:ro" \
#     mite --listen tcp://0.0.0.0:14301 --key /etc/mite/keys/controller.key \
#          --authorized-keys /etc/mite/keys/hosts.d
#   docker exec mite-controller mitectl status
# An agent (a runner host):
#   docker run -d -v "$PWD/keys:/etc/mite/keys:ro" mite --agent tcp://CONTROLLER:14301 \
#     --key /etc/mite/keys/agent.key --server-key /etc/mite/keys/controller.pub
# mited refuses a secret key file others may read: give the key files to
# uid 10001 with mode 0600 (contrib/kubernetes/ copies them from a Secret).

# ---- build: autotools, as quickstart.sh builds on a Debian 12 machine ----
FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	build-essential autoconf automake pkg-config \
	libuv1-dev libcurl4-openssl-dev libssl-dev libnghttp2-dev libconfig-dev \
	libcjson-dev libzmq3-dev libmicrohttpd-dev libwslay-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# No Criterion tests in the image (--disable-tests): `make check` is for CI.
RUN autoreconf -fi \
 && mkdir /build && cd /build \
 && /src/configure --quiet --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
	--disable-tests \
 && make -j"$(nproc)" \
 && make install DESTDIR=/out \
 && rm -rf /out/usr/include /out/usr/lib/pkgconfig /out/usr/share/man

# ---- run: the libraries only, and the mite user --------------------------
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	libuv1 libcurl4 libssl3 libnghttp2-14 libconfig9 libcjson1 libzmq5 \
	libmicrohttpd12 libwslay1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 mite \
 && useradd --system --uid 10001 --gid mite --home-dir /var/lib/mite \
	--no-create-home --shell /usr/sbin/nologin mite \
 && install -d -o mite -g mite -m 0750 /run/mite /var/lib/mite
COPY --from=build /out/ /
# As systemd would set them for mited.service: the control socket is
# /run/mite/mited.sock (where mitectl looks) and results go to
# /var/lib/mite. Mount volumes there for a read-only root file system.
ENV RUNTIME_DIRECTORY=/run/mite STATE_DIRECTORY=/var/lib/mite
USER 10001:10001
WORKDIR /var/lib/mite
EXPOSE 14301
ENTRYPOINT ["/usr/sbin/mited"]
