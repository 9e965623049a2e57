/*
 * metrics.c - the Prometheus endpoint (see metrics.h).
 *
 * The renderer runs on the loop thread, where the runs live; the server
 * runs on libmicrohttpd's own thread and only ever copies the text last
 * published, under the mutex. So a scrape never sees a run half-merged,
 * and a slow or hostile client costs the server thread a connection slot
 * until its timeout, never the loop anything.
 *
 * libmicrohttpd's timeout (0.9.75, Debian 12) is one of idleness: it
 * restarts with every byte, so a client sending a byte every few seconds
 * would keep its slot forever. A request therefore also has a deadline:
 * a thread of ours shuts down (shutdown(2)) every connection that has had
 * no answer for `deadline` seconds since it opened or since its last
 * answer, which libmicrohttpd then closes as closed by the client.
 */
#include "config.h"

#include "controller/metrics.h"

#include "controller/thresholds.h"
#include "core/hist.h"
#include "core/log.h"
#include "core/utf8.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define METRICS_MAX_CONNECTIONS 64
#define METRICS_MEMORY_LIMIT (32 * 1024) /* per connection: request line and headers */
#define METRICS_LABEL_MAX 512            /* bytes of one label value */
#define METRICS_SWEEP_MS 250             /* how often deadlines are checked */

/* ---- the server ---------------------------------------------------------- */

/* A connection, as far as its deadline goes. */
typedef struct mconn {
	struct mconn *next;
	int fd;
	uint64_t since_ms; /* opened, or its last request answered */
	int cut;           /* shut down for its deadline */
} mconn;

struct metrics {
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	char *text;
	size_t len;
	int port;
	/* deadlines, under mu */
	pthread_cond_t cv;
	pthread_t sweeper;
	int sweeping, stopping;
	uint64_t deadline_ms;
	mconn *conns;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int metrics_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
			 size_t errlen)
{
	const char *colon, *host_end;
	char host[64], *end;
	size_t hl;
	long port;
	int bracket = s && s[0] == '[';

	memset(ss, 0, sizeof(*ss));
	if (!s || !*s) {
		snprintf(err, errlen, "empty address (expected ADDR:PORT, e.g. 127.0.0.1:%d)", METRICS_DEFAULT_PORT);
		return -EINVAL;
	}
	if (bracket) {
		host_end = strchr(s, ']');
		if (!host_end || host_end[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPv6]:PORT", s);
			return -EINVAL;
		}
		colon = host_end + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "'%s': no port (expected ADDR:PORT, e.g. 127.0.0.1:%d)", s,
				 METRICS_DEFAULT_PORT);
			return -EINVAL;
		}
		host_end = colon;
	}
	hl = (size_t)(host_end - s);
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "address too long");
		return -EINVAL;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 0 || port > 65535) {
		snprintf(err, errlen, "'%s': the port must be a number from 0 to 65535", colon + 1);
		return -EINVAL;
	}
	if (!host[0] || strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (bracket || strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
			snprintf(err, errlen, "'%s' is not an IPv6 address", host);
			return -EINVAL;
		}
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
			snprintf(err, errlen, "'%s' is not an IPv4 address (or localhost)", host);
			return -EINVAL;
		}
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*a);
	}
	return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_debug("metrics: %s", buf);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
			     size_t len, int copy)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	static const char index_page[] = "mited: Prometheus metrics at /metrics\n";
	static const char not_found[] = "not found: try /metrics\n";
	static const char bad_method[] = "only GET and HEAD\n";
	metrics *m = cls;
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)upload_size;
	/* Answer at the first call, before any body is read: nothing here
	 * takes a body. */
	*con_cls = NULL;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method, sizeof(bad_method) - 1, 0);
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, "text/plain", index_page, sizeof(index_page) - 1, 0);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1, 0);
	pthread_mutex_lock(&m->mu);
	rc = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", m->text ? m->text : "",
		   m->text ? m->len : 0, 1);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* libmicrohttpd's thread: a connection opens or closes. It closes the
 * socket only after CLOSED returns, so a socket in the list (under mu) is
 * still this connection's. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	metrics *m = cls;
	mconn *mc;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		mc = calloc(1, sizeof(*mc));
		*socket_context = mc;
		if (!mc || !ci)
			return; /* no deadline for it: still the idle timeout */
		mc->fd = ci->connect_fd;
		pthread_mutex_lock(&m->mu);
		mc->since_ms = mono_ms();
		mc->next = m->conns;
		m->conns = mc;
		pthread_mutex_unlock(&m->mu);
		return;
	}
	mc = *socket_context;
	if (!mc)
		return;
	pthread_mutex_lock(&m->mu);
	for (mconn **pp = &m->conns; *pp; pp = &(*pp)->next)
		if (*pp == mc) {
			*pp = mc->next;
			break;
		}
	pthread_mutex_unlock(&m->mu);
	free(mc);
	*socket_context = NULL;
}

/* A request was answered: its connection's next one starts now. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	metrics *m = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	mconn *mc = ci ? ci->socket_context : NULL;

	(void)con_cls;
	(void)toe;
	if (!mc)
		return;
	pthread_mutex_lock(&m->mu);
	mc->since_ms = mono_ms();
	pthread_mutex_unlock(&m->mu);
}

static void *sweep_main(void *arg)
{
	metrics *m = arg;

	pthread_mutex_lock(&m->mu);
	while (!m->stopping) {
		struct timespec until;
		uint64_t now = mono_ms();

		for (mconn *mc = m->conns; mc; mc = mc->next) {
			if (mc->cut || now - mc->since_ms < m->deadline_ms)
				continue;
			mc->cut = 1;
			shutdown(mc->fd, SHUT_RDWR);
			log_debug("metrics: a client had no answer within %llu s; disconnecting it",
				  (unsigned long long)(m->deadline_ms / 1000));
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += METRICS_SWEEP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->cv, &m->mu, &until);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

metrics *metrics_new(const char *listen, unsigned timeout, unsigned deadline, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const union MHD_DaemonInfo *info;
	metrics *m;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	pthread_condattr_t ca;
	int rc;

	if (metrics_parse_listen(listen, &ss, &sslen, err, errlen) < 0)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	m->deadline_ms = (uint64_t)(deadline ? deadline : METRICS_REQUEST_DEADLINE) * 1000;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_TIMEOUT, timeout ? timeout : (unsigned)METRICS_CONNECTION_TIMEOUT,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEMORY_LIMIT,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, m,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!m->d) {
		snprintf(err, errlen, "cannot serve on %s (address in use, or not this host's?)", listen);
		goto fail;
	}
	rc = pthread_create(&m->sweeper, NULL, sweep_main, m);
	if (rc) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		MHD_stop_daemon(m->d);
		goto fail;
	}
	m->sweeping = 1;
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	if (!is_loopback(&ss))
		log_warn("metrics: %s is not a loopback address: anyone who reaches it reads run names, "
			 "config-free labels and error messages",
			 listen);
	return m;
fail:
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
	return NULL;
}

int metrics_port(const metrics *m) { return m ? m->port : 0; }

void metrics_publish(metrics *m, char *text, size_t len)
{
	char *old;

	if (!m) {
		free(text);
		return;
	}
	pthread_mutex_lock(&m->mu);
	old = m->text;
	m->text = text;
	m->len = len;
	pthread_mutex_unlock(&m->mu);
	free(old);
}

void metrics_free(metrics *m)
{
	if (!m)
		return;
	if (m->sweeping) {
		pthread_mutex_lock(&m->mu);
		m->stopping = 1;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->sweeper, NULL);
	}
	MHD_stop_daemon(m->d);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m->text);
	free(m);
}

/* ---- the exposition ------------------------------------------------------ */

/* Upper bounds of the latency buckets, in seconds. */
static const double le_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
			      0.25,   0.5,   1,      2.5,   5,    10,    30,    60};

/* A label value: \ " and newline escaped, bytes that are not UTF-8
 * replaced (core/utf8.h), at most METRICS_LABEL_MAX bytes. */
static void put_label_value(FILE *f, const char *s)
{
	size_t n = strlen(s), out = 0;

	while (n && out < METRICS_LABEL_MAX) {
		size_t k = utf8_seq_len(s, n);

		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (k)
			fwrite(s, 1, k, f);
		else
			fputs(UTF8_REPLACEMENT, f);
		if (!k)
			k = 1;
		out += k;
		s += k;
		n -= k;
	}
}

typedef struct lbl {
	const char *name, *value;
} lbl;

/* name{labels[,extra]} value-prefix: the caller prints the value. */
static void put_series(FILE *f, const char *name, const char *suffix, const lbl *l, size_t n, const char *le)
{
	fputs(name, f);
	if (suffix)
		fputs(suffix, f);
	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", l[i].name);
		put_label_value(f, l[i].value ? l[i].value : "");
		fputc('"', f);
	}
	if (le)
		fprintf(f, "%sle=\"%s\"", n ? "," : "", le);
	fputs("} ", f);
}

static void put_u64(FILE *f, const char *name, const lbl *l, size_t n, uint64_t v)
{
	put_series(f, name, NULL, l, n, NULL);
	fprintf(f, "%" PRIu64 "\n", v);
}

static void put_double(FILE *f, const char *name, const lbl *l, size_t n, double v)
{
	put_series(f, name, NULL, l, n, NULL);
	fprintf(f, "%.17g\n", v);
}

static void put_hist(FILE *f, const char *name, const lbl *l, size_t n, const hist *h)
{
	char le[32];

	for (size_t i = 0; i < sizeof(le_s) / sizeof(le_s[0]); i++) {
		snprintf(le, sizeof(le), "%g", le_s[i]);
		put_series(f, name, "_bucket", l, n, le);
		fprintf(f, "%" PRIu64 "\n", h ? hist_count_le(h, (uint64_t)(le_s[i] * 1e9 + 0.5)) : 0);
	}
	put_series(f, name, "_bucket", l, n, "+Inf");
	fprintf(f, "%" PRIu64 "\n", h ? hist_count(h) : 0);
	put_series(f, name, "_sum", l, n, NULL);
	fprintf(f, "%.17g\n", h ? hist_mean(h) * (double)hist_count(h) / 1e9 : 0.0);
	put_series(f, name, "_count", l, n, NULL);
	fprintf(f, "%" PRIu64 "\n", h ? hist_count(h) : 0);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int kind_is(const stats_entry *e, const char *kind, size_t nlabels)
{
	return strcmp(e->kind, kind) == 0 && e->nlabels == nlabels;
}

/* The base labels of a run: test (the scenario's name, as the original's
 * test label) and run. */
#define RUN_LABELS(mr) {"test", run_scenario((mr)->r)->name}, {"run", run_id((mr)->r)}

/* One gauge per (run, journey), labelled as the original's scenario_id
 * (the journey's index) and journey. */
static void put_journey_counts(FILE *f, const char *name, const metrics_run *runs, size_t n,
			       long (*count)(const run *r, size_t ji))
{
	for (size_t i = 0; i < n; i++) {
		const scenario *s = run_scenario(runs[i].r);

		for (size_t j = 0; j < s->njourneys; j++) {
			char id[32];
			lbl l[] = {RUN_LABELS(&runs[i]), {"scenario_id", id}, {"journey", s->journeys[j].name}};
			long v = count(runs[i].r, j);

			snprintf(id, sizeof(id), "%zu", j);
			put_u64(f, name, l, 4, v > 0 ? (uint64_t)v : 0);
		}
	}
}

/* WebSocket journeys: messages and payload bytes by direction, failures by
 * class, connect times and mark round trips, per (journey, transaction,
 * name) - the stats kinds ws and wserr (core/stats.h). */
static void put_ws_counts(FILE *f, const char *name, const metrics_run *runs, size_t n, int out,
			  int in)
{
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL},
				   {"name", NULL},       {"direction", "sent"}};

			if (!kind_is(e, "ws", 3) || (!e->c[out] && !e->c[in]))
				continue;
			for (int k = 0; k < 3; k++)
				l[2 + k].value = e->labels[k];
			put_u64(f, name, l, 6, e->c[out]);
			l[5].value = "received";
			put_u64(f, name, l, 6, e->c[in]);
		}
}

static void put_ws_hists(FILE *f, const char *name, const metrics_run *runs, size_t n, int h)
{
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL},
				   {"name", NULL}};

			if (!kind_is(e, "ws", 3) || !e->h[h] || !hist_count(e->h[h]))
				continue;
			for (int k = 0; k < 3; k++)
				l[2 + k].value = e->labels[k];
			put_hist(f, name, l, 5, e->h[h]);
		}
}

static void put_ws(FILE *f, const metrics_run *runs, size_t n)
{
	family(f, "mite_ws_message_total", "counter",
	       "WebSocket messages, by connection name and direction (sent, received).");
	put_ws_counts(f, "mite_ws_message_total", runs, n, ST_WS_MSGS_OUT, ST_WS_MSGS_IN);
	family(f, "mite_ws_bytes_total", "counter",
	       "WebSocket message payload bytes, by connection name and direction.");
	put_ws_counts(f, "mite_ws_bytes_total", runs, n, ST_WS_BYTES_OUT, ST_WS_BYTES_IN);
	family(f, "mite_ws_connect_seconds", "histogram",
	       "WebSocket connect time (DNS, TCP, TLS and the Upgrade handshake).");
	put_ws_hists(f, "mite_ws_connect_seconds", runs, n, ST_WS_H_CONNECT);
	family(f, "mite_ws_round_trip_seconds", "histogram",
	       "WebSocket marked round trips (a marked send to the next message), by mark name.");
	put_ws_hists(f, "mite_ws_round_trip_seconds", runs, n, ST_WS_H_RTT);
	family(f, "mite_ws_error_total", "counter",
	       "WebSocket connections that failed, by class (dns, tls, timeout, closed, protocol, ...).");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL},
				   {"name", NULL},       {"class", NULL}};

			if (!kind_is(e, "wserr", 4))
				continue;
			for (int k = 0; k < 4; k++)
				l[2 + k].value = e->labels[k];
			put_u64(f, "mite_ws_error_total", l, 6, e->c[0]);
		}
}

/* Per run: HTTP histograms merged over method and status, keyed by
 * (journey, transaction) - kind "h", h[] as the http entries' - and bytes
 * per (journey, transaction, method) - kind "b". */
static int http_rollup(const stats *t, stats *out)
{
	for (const stats_entry *e = t->first; e; e = e->order) {
		stats_entry *h, *b;

		if (!kind_is(e, "http", 4))
			continue;
		h = stats_get(out, "h", (const char *const *)e->labels, 2);
		b = stats_get(out, "b", (const char *const *)e->labels, 3);
		if (!h || !b)
			return -ENOMEM;
		b->c[0] += e->c[ST_HTTP_BYTES_OUT];
		b->c[1] += e->c[ST_HTTP_BYTES_IN];
		for (int k = 0; k < STATS_NHISTS; k++) {
			if (!e->h[k])
				continue;
			if (!h->h[k] && !(h->h[k] = hist_new()))
				return -ENOMEM;
			hist_merge(h->h[k], e->h[k]);
		}
	}
	return 0;
}

/* The judgement of every run: its verdict, one gauge per kind of
 * problem, per journey how far short of its volume and why, and each
 * runner's loop lag. */
static void put_verdicts(FILE *f, const metrics_run *runs, size_t n)
{
	cJSON **st = calloc(n ? n : 1, sizeof(*st));

	if (!st)
		return;
	for (size_t i = 0; i < n; i++)
		if ((st[i] = run_status(runs[i].r)))
			results_status(runs[i].res, runs[i].r, st[i]);
	family(f, "mite_run_verdict", "gauge",
	       "1 per run, labelled with its verdict (final once done, else as it stands).");
	for (size_t i = 0; i < n; i++) {
		lbl l[] = {RUN_LABELS(&runs[i]), {"verdict", results_verdict(runs[i].res, runs[i].r)}};

		put_u64(f, "mite_run_verdict", l, 3, 1);
	}
	family(f, "mite_run_problem", "gauge",
	       "1 when the run has a problem of this kind (thresholds, volume, tainted, incomplete, failed).");
	for (size_t i = 0; i < n; i++)
		for (int k = VERDICT_PASSED + 1; k < VERDICT_NKINDS; k++) {
			const cJSON *it;
			int has = 0;
			lbl l[] = {RUN_LABELS(&runs[i]), {"problem", verdict_name((verdict_kind)k)}};

			cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st[i], "reasons"))
				has |= verdict_kind_of(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
					       it, "verdict"))) == (verdict_kind)k;
			put_u64(f, "mite_run_problem", l, 3, (uint64_t)has);
		}
	family(f, "mite_volume_short_ratio", "gauge",
	       "How far a journey is short of its volume so far (0: delivered, 1: nothing).");
	for (size_t i = 0; i < n; i++) {
		const cJSON *j;
		size_t ji = 0;

		cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(st[i], "journeys")) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "volume");
			char id[32];
			lbl l[] = {RUN_LABELS(&runs[i]), {"scenario_id", id},
				   {"journey", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"))}};

			snprintf(id, sizeof(id), "%zu", ji++);
			put_double(f, "mite_volume_short_ratio", l, 4,
				   cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "short")) > 0
					   ? cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "short"))
					   : 0);
		}
	}
	family(f, "mite_volume_behind_seconds", "gauge", "Seconds a journey ran short of its volume.");
	for (size_t i = 0; i < n; i++) {
		const cJSON *j;
		size_t ji = 0;

		cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(st[i], "journeys")) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "volume");
			double b = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "behind_seconds"));
			char id[32];
			lbl l[] = {RUN_LABELS(&runs[i]), {"scenario_id", id},
				   {"journey", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"))}};

			snprintf(id, sizeof(id), "%zu", ji++);
			put_double(f, "mite_volume_behind_seconds", l, 4, b > 0 ? b : 0);
		}
	}
	family(f, "mite_volume_shortfall_info", "gauge",
	       "1 per journey not delivering its volume, with why when mite knows.");
	for (size_t i = 0; i < n; i++) {
		const cJSON *j;
		size_t ji = 0;

		cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(st[i], "journeys")) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "volume");
			const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "why"));
			char id[32];
			lbl l[] = {RUN_LABELS(&runs[i]), {"scenario_id", id},
				   {"journey", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"))},
				   {"why", why ? why : ""}};

			snprintf(id, sizeof(id), "%zu", ji++);
			if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "delivered")))
				put_u64(f, "mite_volume_shortfall_info", l, 5, 1);
		}
	}
	family(f, "mite_runner_loop_lag_seconds", "histogram",
	       "How long each turn of a runner's loop kept it busy: what any callback waited at most.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"runner", NULL}};

			if (!kind_is(e, "loop", 1))
				continue;
			l[2].value = e->labels[0];
			put_hist(f, "mite_runner_loop_lag_seconds", l, 3, e->h[0]);
		}
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(st[i]);
	free(st);
}

static const char *state_name(run_state s)
{
	static const char *const names[] = {"starting", "running", "paused", "stopping", "done"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

char *metrics_render(const metrics_run *runs, size_t n, size_t *len)
{
	static const char *const phases[] = {"total", "dns", "connect", "tls", "ttfb"};
	char *text = NULL;
	size_t tlen = 0;
	stats *roll;
	FILE *f;

	roll = calloc(n ? n : 1, sizeof(*roll));
	if (!roll)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		stats_init(&roll[i]);
		if (http_rollup(run_totals(runs[i].r), &roll[i]) < 0)
			goto nomem;
	}
	f = open_memstream(&text, &tlen);
	if (!f)
		goto nomem;

	/* -- the original's series -- */
	family(f, "mite_transaction_total", "counter", "Transactions ended, by whether they had an error.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL}, {"had_error", "False"}};

			if (!kind_is(e, "txn", 2))
				continue;
			l[2].value = e->labels[0];
			l[3].value = e->labels[1];
			put_u64(f, "mite_transaction_total", l, 5, e->c[ST_TXN_OK]);
			l[4].value = "True";
			put_u64(f, "mite_transaction_total", l, 5, e->c[ST_TXN_FAILED]);
		}
	family(f, "mite_journey_error_total", "counter",
	       "Errors raised in journeys, by where they happened and their message.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL},  {"transaction", NULL},
				   {"location", NULL},   {"ex_type", "MiteError"}, {"message", NULL}};

			if (!kind_is(e, "error", 4))
				continue;
			l[2].value = e->labels[0];
			l[3].value = e->labels[1];
			l[4].value = e->labels[2];
			l[6].value = e->labels[3];
			put_u64(f, "mite_journey_error_total", l, 7, e->c[0]);
		}
	family(f, "mite_http_response_total", "counter", "HTTP responses, by method and status code.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL},
				   {"method", NULL},     {"response_code", NULL}};

			if (!kind_is(e, "http", 4))
				continue;
			for (int k = 0; k < 4; k++)
				l[2 + k].value = e->labels[k];
			put_u64(f, "mite_http_response_total", l, 6, e->c[ST_HTTP_COUNT]);
		}
	family(f, "mite_http_response_time_seconds", "histogram",
	       "HTTP response time (request start to last byte), by transaction.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = roll[i].first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL}};

			if (!kind_is(e, "h", 2))
				continue;
			l[2].value = e->labels[0];
			l[3].value = e->labels[1];
			put_hist(f, "mite_http_response_time_seconds", l, 4, e->h[ST_H_TOTAL]);
		}
	family(f, "mite_required_count", "gauge", "Journey instances the volume model requires now.");
	put_journey_counts(f, "mite_required_count", runs, n, run_required);
	family(f, "mite_actual_count", "gauge", "Journey instances running now.");
	put_journey_counts(f, "mite_actual_count", runs, n, run_actual);
	family(f, "mite_runner_count", "gauge", "Runner processes working on the run now.");
	for (size_t i = 0; i < n; i++) {
		cJSON *st = run_status(runs[i].r);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "runners");
		lbl l[] = {RUN_LABELS(&runs[i])};

		put_u64(f, "mite_runner_count", l, 2,
			cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0);
		cJSON_Delete(st);
	}

	/* -- what the original lacked -- */
	family(f, "mite_transaction_duration_seconds", "histogram", "Transaction latency.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL}};

			if (!kind_is(e, "txn", 2))
				continue;
			l[2].value = e->labels[0];
			l[3].value = e->labels[1];
			put_hist(f, "mite_transaction_duration_seconds", l, 4, e->h[0]);
		}
	family(f, "mite_journey_started_total", "counter", "Journey iterations started.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}};

			if (!kind_is(e, "journey", 1))
				continue;
			l[2].value = e->labels[0];
			put_u64(f, "mite_journey_started_total", l, 3, e->c[ST_J_STARTED]);
		}
	family(f, "mite_journey_completed_total", "counter", "Journey iterations ended, by outcome.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"outcome", "ok"}};

			if (!kind_is(e, "journey", 1))
				continue;
			l[2].value = e->labels[0];
			put_u64(f, "mite_journey_completed_total", l, 4, e->c[ST_J_OK]);
			l[3].value = "failed";
			put_u64(f, "mite_journey_completed_total", l, 4, e->c[ST_J_FAILED]);
		}
	family(f, "mite_journey_cancelled_total", "counter",
	       "Journey iterations cancelled (a call returned MITE_ECANCELED), counted among the failed.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}};

			if (!kind_is(e, "journey", 1))
				continue;
			l[2].value = e->labels[0];
			put_u64(f, "mite_journey_cancelled_total", l, 3, e->c[ST_J_CANCELLED]);
		}
	family(f, "mite_journey_lost_total", "counter",
	       "Journey iterations lost with a runner that died or was dropped, counted among the failed.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}};

			if (!kind_is(e, "lost", 1))
				continue;
			l[2].value = e->labels[0];
			put_u64(f, "mite_journey_lost_total", l, 3, e->c[0]);
		}
	family(f, "mite_http_phase_seconds", "histogram",
	       "HTTP timing by phase: dns, connect and tls of new connections, ttfb (request sent to first "
	       "byte) of every response.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = roll[i].first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL}, {"phase", NULL}};

			if (!kind_is(e, "h", 2))
				continue;
			l[2].value = e->labels[0];
			l[3].value = e->labels[1];
			for (int k = ST_H_DNS; k < STATS_NHISTS; k++) {
				l[4].value = phases[k];
				put_hist(f, "mite_http_phase_seconds", l, 5, e->h[k]);
			}
		}
	family(f, "mite_http_request_bytes_total", "counter", "Bytes sent in HTTP requests.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = roll[i].first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL}, {"method", NULL}};

			if (!kind_is(e, "b", 3))
				continue;
			for (int k = 0; k < 3; k++)
				l[2 + k].value = e->labels[k];
			put_u64(f, "mite_http_request_bytes_total", l, 5, e->c[0]);
		}
	family(f, "mite_http_response_bytes_total", "counter", "Bytes received in HTTP responses (headers and body).");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = roll[i].first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL}, {"method", NULL}};

			if (!kind_is(e, "b", 3))
				continue;
			for (int k = 0; k < 3; k++)
				l[2 + k].value = e->labels[k];
			put_u64(f, "mite_http_response_bytes_total", l, 5, e->c[1]);
		}
	family(f, "mite_http_error_total", "counter",
	       "HTTP requests that got no response, by class (dns, connect, refused, timeout, ...).");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"transaction", NULL},
				   {"method", NULL},     {"class", NULL}};

			if (!kind_is(e, "httperr", 4))
				continue;
			for (int k = 0; k < 4; k++)
				l[2 + k].value = e->labels[k];
			put_u64(f, "mite_http_error_total", l, 6, e->c[0]);
		}
	put_ws(f, runs, n);
	family(f, "mite_scheduling_lag_seconds", "histogram",
	       "How late journey iterations started against their intended time.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}};

			if (!kind_is(e, "lag", 1))
				continue;
			l[2].value = e->labels[0];
			put_hist(f, "mite_scheduling_lag_seconds", l, 3, e->h[0]);
		}
	family(f, "mite_message_total", "counter", "Custom messages journeys sent (mite_send), by type.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"journey", NULL}, {"type", NULL}};

			if (!kind_is(e, "send", 2))
				continue;
			l[2].value = e->labels[0];
			l[3].value = e->labels[1];
			put_u64(f, "mite_message_total", l, 4, e->c[0]);
		}
	family(f, "mite_runner_wanted", "gauge", "Runner processes the run is meant to have.");
	for (size_t i = 0; i < n; i++) {
		lbl l[] = {RUN_LABELS(&runs[i])};

		if (runs[i].runners_wanted > 0)
			put_u64(f, "mite_runner_wanted", l, 2, (uint64_t)runs[i].runners_wanted);
	}
	family(f, "mite_runner_restarts_total", "counter", "Runner processes that died and were replaced.");
	for (size_t i = 0; i < n; i++) {
		lbl l[] = {RUN_LABELS(&runs[i])};

		put_u64(f, "mite_runner_restarts_total", l, 2, (uint64_t)(runs[i].restarts > 0 ? runs[i].restarts : 0));
	}
	family(f, "mite_events_dropped_total", "counter",
	       "Events lost: by runners (too many between two stats batches) or by the event log (its "
	       "writer fell behind).");
	for (size_t i = 0; i < n; i++) {
		const stats_entry *d = stats_find(run_totals(runs[i].r), "dropped", NULL, 0);
		lbl l[] = {RUN_LABELS(&runs[i]), {"where", "runner"}};

		put_u64(f, "mite_events_dropped_total", l, 3, d ? d->c[0] : 0);
		l[2].value = "log";
		put_u64(f, "mite_events_dropped_total", l, 3, results_dropped(runs[i].res));
	}
	family(f, "mite_run_elapsed_seconds", "gauge", "Seconds since the run started.");
	for (size_t i = 0; i < n; i++) {
		lbl l[] = {RUN_LABELS(&runs[i])};

		put_double(f, "mite_run_elapsed_seconds", l, 2, run_elapsed(runs[i].r));
	}
	family(f, "mite_run_info", "gauge", "1 per run, with its state and scenario file.");
	for (size_t i = 0; i < n; i++) {
		lbl l[] = {RUN_LABELS(&runs[i]), {"state", state_name(run_get_state(runs[i].r))},
			   {"scenario", run_scenario(runs[i].r)->path}};

		put_u64(f, "mite_run_info", l, 4, 1);
	}
	put_verdicts(f, runs, n);
	family(f, "mite_threshold_broken", "gauge", "1 when a threshold of the scenario is broken, else 0.");
	for (size_t i = 0; i < n; i++) {
		const thresholds *th = run_scenario(runs[i].r)->thresholds;
		const thresholds_eval *ev = results_thresholds(runs[i].res);

		for (size_t k = 0; k < thresholds_count(th); k++) {
			lbl l[] = {RUN_LABELS(&runs[i]), {"threshold", thresholds_text(th, k)}};

			put_u64(f, "mite_threshold_broken", l, 3, (uint64_t)thresholds_eval_is_broken(ev, k));
		}
	}
	if (fclose(f) != 0) {
		free(text);
		text = NULL;
	}
	for (size_t i = 0; i < n; i++)
		stats_free(&roll[i]);
	free(roll);
	if (text && len)
		*len = tlen;
	return text;
nomem:
	for (size_t i = 0; i < n; i++)
		stats_free(&roll[i]);
	free(roll);
	return NULL;
}
