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
#define METRICS_LABEL_MAX 512 /* bytes of one label value */
#define METRICS_SWEEP_MS 250 /* how often deadlines are checked */

/* ---- the server ---------------------------------------------------------- */

/* A connection, as far as its deadline goes. */
typedef struct mconn {
	struct mconn *next;
	int fd;
	uint64_t since_ms; /* opened, or its last request answered */
	int cut; /* shut down for its deadline */
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
		snprintf(err, errlen, "empty address (expected ADDR:PORT, e.g. 127.0.0.1:%d)",
			 METRICS_DEFAULT_PORT);
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
			snprintf(err, errlen,
				 "'%s': no port (expected ADDR:PORT, e.g. 127.0.0.1:%d)", s,
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

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, size_t len, int copy)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, (void *)body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
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
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
			     sizeof(bad_method) - 1, 0);
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, "text/plain", index_page, sizeof(index_page) - 1, 0);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1,
			     0);
	pthread_mutex_lock(&m->mu);
	rc = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		   m->text ? m->text : "", m->text ? m->len : 0, 1);
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
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

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
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
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

metrics *metrics_new(const char *listen, unsigned timeout, unsigned deadline, char *err,
		     size_t errlen)
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
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
				timeout ? timeout : (unsigned)METRICS_CONNECTION_TIMEOUT,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEMORY_LIMIT,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, m,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!m->d) {
		snprintf(err, errlen, "cannot serve on %s (address in use, or not this host's?)",
			 listen);
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
		log_warn(
			"metrics: %s is not a loopback address: anyone who reaches it reads run names, "
			"config-free labels and error messages",
			listen);
	return m;
fail:
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
	return NULL;
}

int metrics_port(const metrics *m)
{
	return m ? m->port : 0;
}

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
static const double le_s[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
			       0.25,   0.5,   1,      2.5,   5,    10,    30,   60 };

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
static void put_series(FILE *f, const char *name, const char *suffix, const lbl *l, size_t n,
		       const char *le)
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
		fprintf(f, "%" PRIu64 "\n",
			h ? hist_count_le(h, (uint64_t)(le_s[i] * 1e9 + 0.5)) : 0);
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

/* The base labels of a run: test (the scenario's name, as the original's
 * test label) and run. */
#define RUN_LABELS(mr)                           \
	{ "test", run_scenario((mr)->r)->name }, \
	{                                        \
		"run", run_id((mr)->r)           \
	}

/* One gauge per journey of a run, labelled as the original's scenario_id
 * (the journey's index) and journey. */
static void put_journey_counts(FILE *f, const char *name, const metrics_run *mr,
			       long (*count)(const run *r, size_t ji))
{
	const scenario *s = run_scenario(mr->r);

	for (size_t j = 0; j < s->njourneys; j++) {
		char id[32];
		lbl l[] = { RUN_LABELS(mr),
			    { "scenario_id", id },
			    { "journey", s->journeys[j].name } };
		long v = count(mr->r, j);

		snprintf(id, sizeof(id), "%zu", j);
		put_u64(f, name, l, 4, v > 0 ? (uint64_t)v : 0);
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
			lbl l[] = { RUN_LABELS(&runs[i]),
				    { "journey", NULL },
				    { "transaction", NULL },
				    { "name", NULL },
				    { "direction", "sent" } };

			if (!stats_kind_is(e, &SK_WS) || (!e->c[out] && !e->c[in]))
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
			lbl l[] = { RUN_LABELS(&runs[i]),
				    { "journey", NULL },
				    { "transaction", NULL },
				    { "name", NULL } };

			if (!stats_kind_is(e, &SK_WS) || !e->h[h] || !hist_count(e->h[h]))
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
			lbl l[] = { RUN_LABELS(&runs[i]),
				    { "journey", NULL },
				    { "transaction", NULL },
				    { "name", NULL },
				    { "class", NULL } };

			if (!stats_kind_is(e, &SK_WSERR))
				continue;
			for (int k = 0; k < 4; k++)
				l[2 + k].value = e->labels[k];
			put_u64(f, "mite_ws_error_total", l, 6, e->c[0]);
		}
}

/* Per run: HTTP histograms merged over method and status, keyed by
 * (journey, transaction) - kind "h", h[] as the http entries' - and bytes
 * per (journey, transaction, method) - kind "b". */
static const stats_kind MK_H = { "h", 2 }, MK_B = { "b", 3 };

static int http_rollup(const stats *t, stats *out)
{
	for (const stats_entry *e = t->first; e; e = e->order) {
		stats_entry *h, *b;

		if (!stats_kind_is(e, &SK_HTTP))
			continue;
		h = stats_get(out, MK_H.name, (const char *const *)e->labels, MK_H.nlabels);
		b = stats_get(out, MK_B.name, (const char *const *)e->labels, MK_B.nlabels);
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

/* The JSON number at key of o, 0 when it is missing or negative. */
static double jpos(const cJSON *o, const char *key)
{
	double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));

	return v > 0 ? v : 0;
}

/* Whether the status st gives a reason of verdict kind k. */
static int has_problem(const cJSON *st, verdict_kind k)
{
	const cJSON *it;
	int has = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "reasons")) has |=
		verdict_kind_of(
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "verdict"))) == k;
	return has;
}

static void put_verdict_kinds(FILE *f, const metrics_run *runs, cJSON **st, size_t n)
{
	family(f, "mite_run_verdict", "gauge",
	       "1 per run, labelled with its verdict (final once done, else as it stands).");
	for (size_t i = 0; i < n; i++) {
		lbl l[] = { RUN_LABELS(&runs[i]),
			    { "verdict", results_verdict(runs[i].res, runs[i].r) } };

		put_u64(f, "mite_run_verdict", l, 3, 1);
	}
	family(f, "mite_run_problem", "gauge",
	       "1 when the run has a problem of this kind (thresholds, volume, tainted, incomplete, failed).");
	for (size_t i = 0; i < n; i++)
		for (int k = VERDICT_PASSED + 1; k < VERDICT_NKINDS; k++) {
			lbl l[] = { RUN_LABELS(&runs[i]),
				    { "problem", verdict_name((verdict_kind)k) } };

			put_u64(f, "mite_run_problem", l, 3,
				(uint64_t)has_problem(st[i], (verdict_kind)k));
		}
}

/* The volume families, one sample per journey of a run's status. */
enum { VOL_SHORT, VOL_BEHIND, VOL_SHORTFALL };

static void put_volume(FILE *f, int which, const metrics_run *runs, cJSON **st, size_t n)
{
	static const char *const names[] = { "mite_volume_short_ratio",
					     "mite_volume_behind_seconds",
					     "mite_volume_shortfall_info" };
	static const char *const helps[] = {
		"How far a journey is short of its volume so far (0: delivered, 1: nothing).",
		"Seconds a journey ran short of its volume.",
		"1 per journey not delivering its volume, with why when mite knows."
	};

	family(f, names[which], "gauge", helps[which]);
	for (size_t i = 0; i < n; i++) {
		const cJSON *j;
		size_t ji = 0;

		cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(st[i], "journeys"))
		{
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "volume");
			const char *why =
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "why"));
			char id[32];
			lbl l[] = { RUN_LABELS(&runs[i]),
				    { "scenario_id", id },
				    { "journey",
				      cJSON_GetStringValue(
					      cJSON_GetObjectItemCaseSensitive(j, "name")) },
				    { "why", why ? why : "" } };

			snprintf(id, sizeof(id), "%zu", ji++);
			if (which == VOL_SHORT)
				put_double(f, names[which], l, 4, jpos(v, "short"));
			else if (which == VOL_BEHIND)
				put_double(f, names[which], l, 4, jpos(v, "behind_seconds"));
			else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "delivered")))
				put_u64(f, names[which], l, 5, 1);
		}
	}
}

static void put_loop_lag(FILE *f, const metrics_run *runs, size_t n)
{
	family(f, "mite_runner_loop_lag_seconds", "histogram",
	       "How long each turn of a runner's loop kept it busy: what any callback waited at most.");
	for (size_t i = 0; i < n; i++)
		for (const stats_entry *e = run_totals(runs[i].r)->first; e; e = e->order) {
			lbl l[] = { RUN_LABELS(&runs[i]), { "runner", NULL } };

			if (!stats_kind_is(e, &SK_LOOP))
				continue;
			l[2].value = e->labels[SL_RUNNER];
			put_hist(f, "mite_runner_loop_lag_seconds", l, 3, e->h[0]);
		}
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
	put_verdict_kinds(f, runs, st, n);
	put_volume(f, VOL_SHORT, runs, st, n);
	put_volume(f, VOL_BEHIND, runs, st, n);
	put_volume(f, VOL_SHORTFALL, runs, st, n);
	put_loop_lag(f, runs, n);
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(st[i]);
	free(st);
}

/* ---- the series ---------------------------------------------------------- */

/* A label of an entry's samples: the entry's label `from`, or `fixed`. */
typedef struct slabel {
	const char *name;
	int from;
	const char *fixed;
} slabel;

/* One sample of an entry: counter c, or histogram h when c < 0; with one
 * more label when lname is set (its value lvalue, or the phase name of h). */
typedef struct ssample {
	const char *lname, *lvalue;
	int c, h;
} ssample;

#define SERIES_MAX_LABELS 5

/* A family of series: per entry of `kind` (in the run's totals, or in its
 * HTTP rollup), per run (per_run), or several families at once (all). */
typedef struct series {
	const char *name, *type, *help;
	const stats_kind *kind;
	int rolled;
	slabel l[SERIES_MAX_LABELS];
	ssample v[STATS_NHISTS];
	void (*per_run)(FILE *f, const char *name, const metrics_run *mr);
	void (*all)(FILE *f, const metrics_run *runs, size_t n);
} series;

static void put_entries(FILE *f, const series *d, const metrics_run *mr, const stats *t)
{
	for (const stats_entry *e = t->first; e; e = e->order) {
		lbl l[2 + SERIES_MAX_LABELS + 1] = { RUN_LABELS(mr) };
		size_t n = 2;

		if (!stats_kind_is(e, d->kind))
			continue;
		for (const slabel *s = d->l; s < d->l + SERIES_MAX_LABELS && s->name; s++)
			l[n++] = (lbl){ s->name, s->from >= 0 ? e->labels[s->from] : s->fixed };
		for (const ssample *v = d->v; v < d->v + STATS_NHISTS && (v->c >= 0 || v->h >= 0);
		     v++) {
			size_t m = n;

			if (v->lname)
				l[m++] = (lbl){ v->lname,
						v->lvalue ? v->lvalue : stats_phase_names[v->h] };
			if (v->c >= 0)
				put_u64(f, d->name, l, m, e->c[v->c]);
			else
				put_hist(f, d->name, l, m, e->h[v->h]);
		}
	}
}

static void put_required(FILE *f, const char *name, const metrics_run *mr)
{
	put_journey_counts(f, name, mr, run_required);
}

static void put_actual(FILE *f, const char *name, const metrics_run *mr)
{
	put_journey_counts(f, name, mr, run_actual);
}

static void put_runners(FILE *f, const char *name, const metrics_run *mr)
{
	cJSON *st = run_status(mr->r);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "runners");
	lbl l[] = { RUN_LABELS(mr) };

	put_u64(f, name, l, 2,
		cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0);
	cJSON_Delete(st);
}

static void put_wanted(FILE *f, const char *name, const metrics_run *mr)
{
	lbl l[] = { RUN_LABELS(mr) };

	if (mr->runners_wanted > 0)
		put_u64(f, name, l, 2, (uint64_t)mr->runners_wanted);
}

static void put_restarts(FILE *f, const char *name, const metrics_run *mr)
{
	lbl l[] = { RUN_LABELS(mr) };

	put_u64(f, name, l, 2, (uint64_t)(mr->restarts > 0 ? mr->restarts : 0));
}

static void put_dropped(FILE *f, const char *name, const metrics_run *mr)
{
	const stats_entry *d =
		stats_find(run_totals(mr->r), SK_DROPPED.name, NULL, SK_DROPPED.nlabels);
	lbl l[] = { RUN_LABELS(mr), { "where", "runner" } };

	put_u64(f, name, l, 3, d ? d->c[0] : 0);
	l[2].value = "log";
	put_u64(f, name, l, 3, results_dropped(mr->res));
}

static void put_elapsed(FILE *f, const char *name, const metrics_run *mr)
{
	lbl l[] = { RUN_LABELS(mr) };

	put_double(f, name, l, 2, run_elapsed(mr->r));
}

static void put_info(FILE *f, const char *name, const metrics_run *mr)
{
	lbl l[] = { RUN_LABELS(mr),
		    { "state", run_state_name(run_get_state(mr->r)) },
		    { "scenario", run_scenario(mr->r)->path } };

	put_u64(f, name, l, 4, 1);
}

static void put_broken(FILE *f, const char *name, const metrics_run *mr)
{
	const thresholds *th = run_scenario(mr->r)->thresholds;
	const thresholds_eval *ev = results_thresholds(mr->res);

	for (size_t k = 0; k < thresholds_count(th); k++) {
		lbl l[] = { RUN_LABELS(mr), { "threshold", thresholds_text(th, k) } };

		put_u64(f, name, l, 3, (uint64_t)thresholds_eval_is_broken(ev, k));
	}
}

#define L_J                                 \
	{                                   \
		"journey", SL_JOURNEY, NULL \
	}
#define L_T                                         \
	{                                           \
		"transaction", SL_TRANSACTION, NULL \
	}
#define L_M                               \
	{                                 \
		"method", SL_METHOD, NULL \
	}
#define C_(i)                       \
	{                           \
		NULL, NULL, (i), -1 \
	}
#define H_(i)                       \
	{                           \
		NULL, NULL, -1, (i) \
	}
#define END_                       \
	{                          \
		NULL, NULL, -1, -1 \
	}
#define PHASE_(i)                      \
	{                              \
		"phase", NULL, -1, (i) \
	}

/* The exposition, family by family: first the original's series, then
 * what it lacked. */
static const series all_series[] = {
	{ "mite_transaction_total",
	  "counter",
	  "Transactions ended, by whether they had an error.",
	  &SK_TXN,
	  0,
	  { L_J, L_T },
	  { { "had_error", "False", ST_TXN_OK, -1 },
	    { "had_error", "True", ST_TXN_FAILED, -1 },
	    END_ },
	  NULL,
	  NULL },
	{ "mite_journey_error_total",
	  "counter",
	  "Errors raised in journeys, by where they happened and their message.",
	  &SK_ERROR,
	  0,
	  { L_J,
	    L_T,
	    { "location", SL_LOCATION, NULL },
	    { "ex_type", -1, "MiteError" },
	    { "message", SL_MESSAGE, NULL } },
	  { C_(0), END_ },
	  NULL,
	  NULL },
	{ "mite_http_response_total",
	  "counter",
	  "HTTP responses, by method and status code.",
	  &SK_HTTP,
	  0,
	  { L_J, L_T, L_M, { "response_code", SL_STATUS, NULL } },
	  { C_(ST_HTTP_COUNT), END_ },
	  NULL,
	  NULL },
	{ "mite_http_response_time_seconds",
	  "histogram",
	  "HTTP response time (request start to last byte), by transaction.",
	  &MK_H,
	  1,
	  { L_J, L_T },
	  { H_(ST_H_TOTAL), END_ },
	  NULL,
	  NULL },
	{ "mite_required_count", "gauge", "Journey instances the volume model requires now.",
	  .per_run = put_required },
	{ "mite_actual_count", "gauge", "Journey instances running now.", .per_run = put_actual },
	{ "mite_runner_count", "gauge", "Runner processes working on the run now.",
	  .per_run = put_runners },
	{ "mite_transaction_duration_seconds",
	  "histogram",
	  "Transaction latency.",
	  &SK_TXN,
	  0,
	  { L_J, L_T },
	  { H_(0), END_ },
	  NULL,
	  NULL },
	{ "mite_journey_started_total",
	  "counter",
	  "Journey iterations started.",
	  &SK_JOURNEY,
	  0,
	  { L_J },
	  { C_(ST_J_STARTED), END_ },
	  NULL,
	  NULL },
	{ "mite_journey_completed_total",
	  "counter",
	  "Journey iterations ended, by outcome.",
	  &SK_JOURNEY,
	  0,
	  { L_J },
	  { { "outcome", "ok", ST_J_OK, -1 }, { "outcome", "failed", ST_J_FAILED, -1 }, END_ },
	  NULL,
	  NULL },
	{ "mite_journey_cancelled_total",
	  "counter",
	  "Journey iterations cancelled (a call returned MITE_ECANCELED), counted among the failed.",
	  &SK_JOURNEY,
	  0,
	  { L_J },
	  { C_(ST_J_CANCELLED), END_ },
	  NULL,
	  NULL },
	{ "mite_journey_lost_total",
	  "counter",
	  "Journey iterations lost with a runner that died or was dropped, counted among the failed.",
	  &SK_LOST,
	  0,
	  { L_J },
	  { C_(0), END_ },
	  NULL,
	  NULL },
	{ "mite_http_phase_seconds",
	  "histogram",
	  "HTTP timing by phase: dns, connect and tls of new connections, ttfb (request sent to first "
	  "byte) of every response.",
	  &MK_H,
	  1,
	  { L_J, L_T },
	  { PHASE_(ST_H_DNS), PHASE_(ST_H_CONNECT), PHASE_(ST_H_TLS), PHASE_(ST_H_TTFB), END_ },
	  NULL,
	  NULL },
	{ "mite_http_request_bytes_total",
	  "counter",
	  "Bytes sent in HTTP requests.",
	  &MK_B,
	  1,
	  { L_J, L_T, L_M },
	  { C_(0), END_ },
	  NULL,
	  NULL },
	{ "mite_http_response_bytes_total",
	  "counter",
	  "Bytes received in HTTP responses (headers and body).",
	  &MK_B,
	  1,
	  { L_J, L_T, L_M },
	  { C_(1), END_ },
	  NULL,
	  NULL },
	{ "mite_http_error_total",
	  "counter",
	  "HTTP requests that got no response, by class (dns, connect, refused, timeout, ...).",
	  &SK_HTTPERR,
	  0,
	  { L_J, L_T, L_M, { "class", SL_CLASS, NULL } },
	  { C_(0), END_ },
	  NULL,
	  NULL },
	{ .all = put_ws },
	{ "mite_scheduling_lag_seconds",
	  "histogram",
	  "How late journey iterations started against their intended time.",
	  &SK_LAG,
	  0,
	  { L_J },
	  { H_(0), END_ },
	  NULL,
	  NULL },
	{ "mite_message_total",
	  "counter",
	  "Custom messages journeys sent (mite_send), by type.",
	  &SK_SEND,
	  0,
	  { L_J, { "type", SL_TYPE, NULL } },
	  { C_(0), END_ },
	  NULL,
	  NULL },
	{ "mite_runner_wanted", "gauge", "Runner processes the run is meant to have.",
	  .per_run = put_wanted },
	{ "mite_runner_restarts_total", "counter", "Runner processes that died and were replaced.",
	  .per_run = put_restarts },
	{ "mite_events_dropped_total", "counter",
	  "Events lost: by runners (too many between two stats batches) or by the event log (its "
	  "writer fell behind).",
	  .per_run = put_dropped },
	{ "mite_run_elapsed_seconds", "gauge", "Seconds since the run started.",
	  .per_run = put_elapsed },
	{ "mite_run_info", "gauge", "1 per run, with its state and scenario file.",
	  .per_run = put_info },
	{ .all = put_verdicts },
	{ "mite_threshold_broken", "gauge", "1 when a threshold of the scenario is broken, else 0.",
	  .per_run = put_broken },
};

static void put_family(FILE *f, const series *d, const metrics_run *runs, const stats *roll,
		       size_t n)
{
	if (d->all) {
		d->all(f, runs, n);
		return;
	}
	family(f, d->name, d->type, d->help);
	for (size_t i = 0; i < n; i++) {
		if (d->per_run)
			d->per_run(f, d->name, &runs[i]);
		else
			put_entries(f, d, &runs[i], d->rolled ? &roll[i] : run_totals(runs[i].r));
	}
}

char *metrics_render(const metrics_run *runs, size_t n, size_t *len)
{
	char *text = NULL;
	size_t tlen = 0;
	stats *roll;
	FILE *f = NULL;

	roll = calloc(n ? n : 1, sizeof(*roll));
	if (!roll)
		return NULL;
	for (size_t i = 0; i < n; i++)
		stats_init(&roll[i]);
	for (size_t i = 0; i < n; i++)
		if (http_rollup(run_totals(runs[i].r), &roll[i]) < 0)
			goto done;
	if (!(f = open_memstream(&text, &tlen)))
		goto done;
	for (size_t k = 0; k < sizeof(all_series) / sizeof(all_series[0]); k++)
		put_family(f, &all_series[k], runs, roll, n);
	if (fclose(f) != 0) {
		free(text);
		text = NULL;
	}
	if (text && len)
		*len = tlen;
done:
	for (size_t i = 0; i < n; i++)
		stats_free(&roll[i]);
	free(roll);
	return text;
}
