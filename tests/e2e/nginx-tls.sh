# nginx-tls.sh - sourced by tests that need an HTTPS server: Debian's
# nginx with certificates tests/tls-certs.sh makes (HTTP/1.1, and HTTP/2
# for clients that offer it by ALPN), on an ephemeral
# loopback port, logging one line per request ("STATUS RESUMED PROTOCOL",
# RESUMED being nginx's $ssl_session_reused: "r" when the connection
# resumed a TLS session, "." when not).
#   GET /          200 "ok\n" (keep-alive)
#   GET /missing   404
#   GET /error     503
#   GET /redirect  302 to /
#
#   nginx_tls_start DIR   starts it (certificates in DIR/certs); sets
#                         NGINX_PORT, NGINX_LOG, NGINX_CA; exit 1 when it
#                         cannot
#   nginx_tls_stop        stops it (also at exit: call it from your trap)
#   nginx_tls_counts      prints the log's counts per status, of requests
#                         on resumed TLS sessions and of HTTP/2 ones, as
#                         JSON ({"status": {"200": N, ...}, "resumed": N,
#                         "h2": N}), and
#                         empties the log
NGINX_PID=

nginx_tls_start() {
	local d=$1 src=${top_srcdir:?} i
	command -v nginx >/dev/null || { echo "FAIL: nginx is needed (apt-get install nginx-light; quickstart.sh installs it)"; exit 1; }
	mkdir -p "$d/tmp" && chmod 755 "$d" || exit 1
	sh "$src/tests/tls-certs.sh" "$d/certs" >/dev/null || { echo "FAIL: tests/tls-certs.sh failed"; exit 1; }
	for i in 1 2 3 4 5; do
		NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
		NGINX_LOG=$d/access.log
		NGINX_CA=$d/certs/ca.pem
		cat >"$d/nginx.conf" <<NGX
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    log_format mite '\$status \$ssl_session_reused \$server_protocol';
    access_log $NGINX_LOG mite;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        ssl_certificate $d/certs/good.pem;
        ssl_certificate_key $d/certs/good.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:1m;
        location = / { default_type text/plain; return 200 "ok\n"; }
        location = /missing { return 404; }
        location = /error { return 503; }
        location = /redirect { return 302 /; }
    }
}
NGX
		rm -f "$d/nginx.pid"
		if nginx -c "$d/nginx.conf" 2>"$d/nginx.err"; then
			for _ in $(seq 50); do [ -s "$d/nginx.pid" ] && break; sleep 0.1; done
			NGINX_PID=$(cat "$d/nginx.pid" 2>/dev/null)
			[ -n "$NGINX_PID" ] && return 0
		fi
	done
	echo "FAIL: nginx did not start"
	cat "$d/nginx.err"
	exit 1
}

nginx_tls_stop() {
	[ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null
	NGINX_PID=
}

nginx_tls_counts() {
	python3 - "$NGINX_LOG" <<'PY'
import json, sys
st, resumed, h2 = {}, 0, 0
for line in open(sys.argv[1]):
    s, r, proto = line.split()
    st[s] = st.get(s, 0) + 1
    resumed += r == "r"
    h2 += proto == "HTTP/2.0"
print(json.dumps({"status": st, "resumed": resumed, "h2": h2}))
PY
	: >"$NGINX_LOG"
}
