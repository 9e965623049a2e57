/*
 * ws.c - see ws.h.
 *
 * A call that waits parks the instance (inst_park) with the connection
 * marked as waited on; the connection's notify hook wakes it, and the call
 * looks again at what it waits for (a message, the open, room to send, the
 * close), so a wake that changed nothing costs one more park.
 *
 * Failures are recorded once per connection, by the first call that sees
 * them (or at the iteration's end, for one no call saw): a "wserr" count
 * by class and an error on the transaction, worded as the HTTP calls word
 * theirs: "ws ws://host/path failed (reset): ...".
 */
#include "runner/ws.h"

#include "core/log.h"
#include "core/util.h"
#include "core/stats.h"
#include "runner/http_sdk.h"
#include "runner/inst.h"
#include "runner/ws_hs.h"
#include "runner/ws_resume.h"

#include <mite/ws.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_DEFAULT_TIMEOUT 10.0
/* After the close handshake, how long to wait for the server to end the
 * TCP connection (so that its side, not the generator's, keeps TIME_WAIT). */
#define WS_EOF_WAIT_MS 1000
#define WS_USER_AGENT "mite/" MITE_SDK_VERSION

_Static_assert(sizeof(((ws_conn *)0)->mark) == MITE_WS_NAME_MAX + 1, "a mark fits ws_conn.mark");

typedef struct ws_session ws_session;

struct mite_ws {
	ws_session *s;
	ws_conn *c;
	struct mite_ws *prev, *next;
	char name[MITE_WS_NAME_MAX + 1];
	char *url;
	double timeout;
	int waiting; /* the instance is parked on this connection */
	int reported; /* its failure (or a server's close) was recorded */
	ws_rmsg *held; /* the message handed out last */
	mite_ws_msg msg;
	stats_entry *st; /* (journey, transaction, name), for st's transaction */
};

struct ws_session {
	struct mite_ctx *ctx;
	struct mite_ws *list;
	size_t max_message, max_queue; /* the run's defaults */
	ws_resume resume; /* wss:// sessions for the next connections */
};

/* ---- config ---------------------------------------------------------------- */

/* A size from the run's config: bytes, or a number with K, M or G (powers
 * of 1024, "iB" may follow), more than 0; def (with a warning) otherwise. */
static size_t config_size(struct mite_ctx *ctx, const char *key, size_t def)
{
	const char *v = inst_config(ctx, key);
	size_t n;

	if (!v)
		return def;
	if (util_parse_size(v, &n) == 0)
		return n;
	log_warn("ws: config %s = \"%s\" is not a size (bytes > 0, or with K, M or G): using %zu",
		 key, v, def);
	return def;
}

/* ---- sessions ------------------------------------------------------------- */

static ws_session *session_get(struct mite_ctx *ctx)
{
	ws_session *s = ctx->ws;

	if (s)
		return s;
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	s->ctx = ctx;
	s->max_message = config_size(ctx, "ws_max_message", MITE_WS_DEFAULT_MAX_MESSAGE);
	s->max_queue = config_size(ctx, "ws_max_queue", MITE_WS_DEFAULT_MAX_QUEUE);
	ctx->ws = s;
	return s;
}

/* Whether w is one of the session's (a handle from another instance, or
 * from an iteration that ended, is not). */
static int owns(const ws_session *s, const struct mite_ws *w)
{
	for (const struct mite_ws *x = s ? s->list : NULL; x; x = x->next)
		if (x == w)
			return 1;
	return 0;
}

static void ws_free(struct mite_ws *w)
{
	ws_session *s = w->s;

	if (w->prev)
		w->prev->next = w->next;
	else
		s->list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	if (w->c) {
		ws_resume_keep(&s->resume, w->c->tls, w->c->host, w->c->port, w->c->tls_sess);
		ws_conn_free(w->c);
	}
	free(w->held);
	free(w->url);
	free(w);
}

/* ---- metrics and failures ------------------------------------------------- */

static stats_entry *entry_for(struct mite_ctx *ctx, const char *name)
{
	return stats_get(inst_stats(ctx), SK_WS.name,
			 (const char *const[]){ inst_journey_name(ctx), inst_txn_name(ctx), name },
			 SK_WS.nlabels);
}

/* The connection's entry for the transaction open now. */
static stats_entry *entry(struct mite_ws *w)
{
	const char *txn = inst_txn_name(w->s->ctx);

	if (!w->st || strcmp(w->st->labels[1], txn) != 0)
		w->st = entry_for(w->s->ctx, w->name);
	return w->st;
}

static void hook_in(void *owner, size_t len, uint64_t rtt_ns, const char *mark)
{
	struct mite_ws *w = owner;
	stats_entry *e = entry(w);

	if (e) {
		stats_add(e, ST_WS_MSGS_IN, 1);
		stats_add(e, ST_WS_BYTES_IN, len);
	}
	if (rtt_ns) {
		e = *mark && strcmp(mark, w->name) != 0 ? entry_for(w->s->ctx, mark) : e;
		if (e)
			stats_record(e, ST_WS_H_RTT, rtt_ns);
	}
}

static void hook_pong(void *owner, uint64_t rtt_ns)
{
	struct mite_ws *w = owner;
	stats_entry *e = entry(w);

	if (e)
		stats_record(e, ST_WS_H_PING, rtt_ns);
}

static void hook_notify(void *owner)
{
	struct mite_ws *w = owner;

	if (w->waiting)
		inst_wake(w->s->ctx);
}

static const ws_conn_hooks hooks = {
	.in = hook_in,
	.pong = hook_pong,
	.notify = hook_notify,
};

/* Counts a failure of class cls and records it on the transaction. */
static void record(struct mite_ws *w, const char *cls, const char *why, const char *file, int line,
		   const char *func)
{
	struct mite_ctx *ctx = w->s->ctx;
	stats_entry *e = stats_get(
		inst_stats(ctx), SK_WSERR.name,
		(const char *const[]){ inst_journey_name(ctx), inst_txn_name(ctx), w->name, cls },
		SK_WSERR.nlabels);

	if (e)
		stats_add(e, 0, 1);
	inst_fail(ctx, file, line, func, "ws %s failed (%s): %s", w->url, cls, why);
}

/* Records what went wrong with w's connection, once: its failure, or a
 * close the server started with a code other than 1000. */
static void report(struct mite_ws *w, const char *file, int line, const char *func)
{
	ws_conn *c = w->c;
	char why[192];

	if (w->reported || !c)
		return;
	if (c->err) {
		w->reported = 1;
		record(w, ws_conn_class(c->err), c->why, file, line, func);
	} else if (c->peer_closed_first && c->close_code != 1000) {
		w->reported = 1;
		snprintf(why, sizeof(why), "the server closed the connection with %d%s%s%s",
			 c->close_code, c->close_reason[0] ? " (" : "", c->close_reason,
			 c->close_reason[0] ? ")" : "");
		record(w, "closed", why, file, line, func);
	}
}

/* The return code of a failed connection. */
static int failed_rc(const ws_conn *c)
{
	return c->err == WSE_TIMEOUT  ? MITE_ETIMEDOUT
		: c->err == WSE_NOMEM ? MITE_ENOMEM
				      : MITE_EIO;
}

/* Parks until the connection's notify: 0 or MITE_ECANCELED. */
static int park(struct mite_ws *w)
{
	int rc;

	w->waiting = 1;
	rc = inst_park(w->s->ctx, NULL, NULL);
	w->waiting = 0;
	return rc;
}

/* Seconds as timer milliseconds: at least 1, at most ten years. */
static uint64_t ms_of(double s)
{
	uint64_t ms;

	if (!(s > 0))
		return 1;
	ms = s > 3.2e8 ? (uint64_t)3.2e11 : (uint64_t)(s * 1000 + 0.5);
	return ms ? ms : 1;
}

/* ---- the SDK calls ---------------------------------------------------------- */

/* The connection's default name: the URL's path without its query. */
static void default_name(char *name, size_t len, const http1_url *u)
{
	size_t n = u->pathonly_len < len - 1 ? u->pathonly_len : len - 1;

	memcpy(name, u->path, n);
	name[n] = 0;
}

static int sdk_open(mite_ctx *ctx, const char *url, const mite_ws_opts *o, mite_ws **out,
		    const char *file, int line, const char *func)
{
	ws_engine *e;
	ws_session *s;
	struct mite_ws *w;
	http1_buf ub = { 0 };
	http1_url u;
	tls_ctx *tc = NULL;
	int tls, rc;

	if (out)
		*out = NULL;
	if (!ctx || !out || ctx->module_ctx)
		return MITE_EINVAL;
	if (ctx->cancelled)
		return inst_cancelled(ctx), MITE_ECANCELED; /* (counted, as a park's) */
	if (!(e = inst_ws_engine(ctx)))
		return inst_fail(ctx, file, line, func, "ws: this runner has no WebSocket engine"),
		       MITE_EINVAL;
	rc = ws_hs_url(url, &ub, &u, &tls);
	if (rc < 0) {
		free(ub.p);
		if (rc == -ENOMEM)
			return MITE_ENOMEM;
		inst_fail(ctx, file, line, func,
			  "ws: bad URL \"%s\" (ws:// or wss://host[:port]/path, "
			  "no fragment)",
			  url ? url : "(null)");
		return MITE_EINVAL;
	}
	if (o && o->name && strlen(o->name) > MITE_WS_NAME_MAX) {
		free(ub.p);
		inst_fail(ctx, file, line, func,
			  "ws %s: opts.name is %zu bytes, over the limit of %d", url,
			  strlen(o->name), MITE_WS_NAME_MAX);
		return MITE_EINVAL;
	}
	if (!(s = session_get(ctx)) || !(w = calloc(1, sizeof(*w))) || !(w->url = strdup(url))) {
		if (s && w)
			free(w);
		free(ub.p);
		return MITE_ENOMEM;
	}
	w->s = s;
	w->next = s->list;
	if (s->list)
		s->list->prev = w;
	s->list = w;
	if (o && o->name && *o->name)
		snprintf(w->name, sizeof(w->name), "%s", o->name);
	else
		default_name(w->name, sizeof(w->name), &u);
	w->timeout = o && o->timeout > 0 ? o->timeout : WS_DEFAULT_TIMEOUT;
	if (!(w->c = ws_conn_new(e))) {
		free(ub.p);
		ws_free(w);
		return MITE_ENOMEM;
	}
	w->c->max_message = o && o->max_message ? o->max_message : s->max_message;
	w->c->max_queue = o && o->max_queue ? o->max_queue : s->max_queue;
	w->c->timeout_ms = ms_of(w->timeout);
	w->c->hooks = &hooks;
	w->c->owner = w;
	/* wss://: the TLS settings of the instance's HTTP calls. */
	if (tls && !(tc = http_sdk_tls_http1(ctx))) {
		free(ub.p);
		ws_free(w);
		if (inst_http_engine(ctx))
			return MITE_ENOMEM;
		return inst_fail(ctx, file, line, func, "ws %s: this runner has no TLS", url),
		       MITE_EINVAL;
	}
	if (tc)
		w->c->tls_sess = ws_resume_offer(&s->resume, tc, u.host, u.host_len, u.port);
	rc = ws_conn_start(w->c, &u, tc, o ? o->headers : NULL, o ? o->protocols : NULL,
			   WS_USER_AGENT);
	tls_ctx_put(tc);
	free(ub.p);
	if (rc == -EINVAL || rc == -ENOMEM) {
		if (rc == -EINVAL)
			inst_fail(ctx, file, line, func,
				  "ws %s: bad handshake header or protocols "
				  "(\"Name: value\" lines; not Host, Upgrade, Connection, "
				  "Sec-WebSocket-*)",
				  url);
		ws_free(w);
		return rc == -EINVAL ? MITE_EINVAL : MITE_ENOMEM;
	}
	while (w->c->state < WS_OPEN) {
		if (park(w) < 0) {
			ws_free(w);
			return MITE_ECANCELED;
		}
	}
	if (w->c->err || !w->c->ev) {
		rc = w->c->err ? failed_rc(w->c) : MITE_EIO;
		report(w, file, line, func);
		ws_free(w);
		return rc;
	}
	{
		stats_entry *st = entry(w);
		if (st)
			stats_record(st, ST_WS_H_CONNECT, w->c->t_open - w->c->t_start);
	}
	*out = w;
	return 0;
}

/* The state of w for a call that needs it open: 0, or what to return
 * (failures recorded). */
static int usable(mite_ctx *ctx, struct mite_ws *w, const char *file, int line, const char *func)
{
	if (!ctx || !w || !owns(ctx->ws, w))
		return MITE_EINVAL;
	if (ctx->cancelled)
		return inst_cancelled(ctx), MITE_ECANCELED; /* (counted, as a park's) */
	if (w->c->err) {
		report(w, file, line, func);
		return failed_rc(w->c);
	}
	if (ws_conn_close_received(w->c)) {
		report(w, file, line, func);
		return MITE_ECLOSED;
	}
	return 0;
}

/* Waits while more than max_queue bytes wait to be sent. */
static int wait_room(struct mite_ws *w, const char *file, int line, const char *func)
{
	ws_conn *c = w->c;
	int rc = 0;

	if (ws_conn_unsent(c) <= c->max_queue)
		return 0;
	ws_conn_timer(c, ms_of(w->timeout));
	while (!c->err && c->state == WS_OPEN && ws_conn_unsent(c) > c->max_queue) {
		if (c->timer_fired) {
			char why[128];
			snprintf(why, sizeof(why),
				 "the server did not read %zu bytes within %.3g s",
				 ws_conn_unsent(c), w->timeout);
			record(w, "timeout", why, file, line, func);
			rc = MITE_ETIMEDOUT;
			break;
		}
		if ((rc = park(w)) < 0)
			break;
	}
	ws_conn_timer(c, 0);
	return rc;
}

static int sdk_send(mite_ctx *ctx, mite_ws *w, const void *data, size_t len, unsigned flags,
		    const char *mark, const char *file, int line, const char *func)
{
	stats_entry *e;
	int rc = usable(ctx, w, file, line, func);

	if (rc)
		return rc;
	if (!data && len)
		return MITE_EINVAL;
	if ((flags & MITE_WS_MARK) && !mark)
		mark = w->name;
	if ((flags & MITE_WS_MARK) && strlen(mark) > MITE_WS_NAME_MAX) {
		inst_fail(ctx, file, line, func,
			  "ws %s: mark name is %zu bytes, over the limit of %d", w->url,
			  strlen(mark), MITE_WS_NAME_MAX);
		return MITE_EINVAL;
	}
	rc = ws_conn_send(w->c, data ? data : "", len, flags & MITE_WS_BINARY,
			  flags & MITE_WS_MARK ? mark : NULL);
	if (rc == -ENOMEM)
		return MITE_ENOMEM;
	if (rc < 0)
		return (rc = usable(ctx, w, file, line, func)) ? rc : MITE_EIO;
	if ((e = entry(w))) {
		stats_add(e, ST_WS_MSGS_OUT, 1);
		stats_add(e, ST_WS_BYTES_OUT, len);
	}
	if ((rc = wait_room(w, file, line, func)))
		return rc;
	if (w->c->err) {
		report(w, file, line, func);
		return failed_rc(w->c);
	}
	return 0;
}

static int sdk_ping(mite_ctx *ctx, mite_ws *w, const char *file, int line, const char *func)
{
	int rc = usable(ctx, w, file, line, func);

	if (rc)
		return rc;
	if (ws_conn_ping(w->c) < 0)
		return (rc = usable(ctx, w, file, line, func)) ? rc : MITE_EIO;
	return 0;
}

/* Hands the oldest message out. */
static int take(struct mite_ws *w, mite_ws_msg **out)
{
	ws_rmsg *m = ws_conn_take(w->c);
	struct mite_ctx *ctx = w->s->ctx;
	double now = inst_now(ctx);
	uint64_t t = uv_hrtime();

	w->held = m;
	w->msg = (mite_ws_msg){
		.size = sizeof(mite_ws_msg),
		.binary = m->binary,
		.data = m->data,
		.len = m->len,
		.arrived = now - (t > m->arrived ? (double)(t - m->arrived) / 1e9 : 0),
		.rtt = m->rtt_ns ? (double)m->rtt_ns / 1e9 : -1,
	};
	if (out)
		*out = &w->msg;
	return 0;
}

static int sdk_recv(mite_ctx *ctx, mite_ws *w, double timeout, unsigned flags, mite_ws_msg **out,
		    const char *file, int line, const char *func)
{
	ws_conn *c;
	int rc = 0, armed = 0;

	if (out)
		*out = NULL;
	if (!ctx || !w || !owns(ctx->ws, w))
		return MITE_EINVAL;
	c = w->c;
	free(w->held);
	w->held = NULL;
	for (;;) {
		if (c->qhead)
			return take(w, out);
		if ((rc = usable(ctx, w, file, line, func)))
			break;
		if (timeout <= 0 || (armed && c->timer_fired)) {
			if (!(flags & MITE_WS_TIMEOUT_OK)) {
				char why[64];
				snprintf(why, sizeof(why), "no message within %.3g s", timeout);
				record(w, "timeout", why, file, line, func);
			}
			rc = MITE_ETIMEDOUT;
			break;
		}
		if (!armed) {
			ws_conn_timer(c, ms_of(timeout));
			armed = 1;
		}
		if ((rc = park(w)) < 0)
			break;
	}
	if (armed)
		ws_conn_timer(c, 0);
	return rc;
}

/* Waits for the close handshake and the server's end of the stream. */
static int wait_close(struct mite_ws *w, const char *file, int line, const char *func)
{
	ws_conn *c = w->c;
	int rc = 0;

	ws_conn_timer(c, ms_of(w->timeout));
	while (!ws_conn_close_received(c)) {
		if (c->timer_fired) {
			char why[64];
			snprintf(why, sizeof(why), "no close from the server within %.3g s",
				 w->timeout);
			record(w, "timeout", why, file, line, func);
			w->reported = 1;
			ws_conn_timer(c, 0);
			return MITE_ETIMEDOUT;
		}
		if ((rc = park(w)) < 0) {
			ws_conn_timer(c, 0);
			return rc;
		}
	}
	/* Let the server end TCP first (its side then keeps TIME_WAIT),
	 * a little while at most. */
	ws_conn_timer(c, WS_EOF_WAIT_MS);
	while (!ws_conn_eof(c) && !c->timer_fired)
		if ((rc = park(w)) < 0)
			break;
	ws_conn_timer(c, 0);
	return rc;
}

static int valid_code(int code)
{
	return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
		(code >= 3000 && code <= 4999);
}

static int sdk_close(mite_ctx *ctx, mite_ws *w, int code, const char *reason, const char *file,
		     int line, const char *func)
{
	int rc = 0;

	if (!ctx || !w || !owns(ctx->ws, w))
		return MITE_EINVAL;
	if (code == 0)
		code = 1000;
	if (!valid_code(code) || (reason && strlen(reason) > 123)) {
		rc = MITE_EINVAL;
	} else if (!w->c->err && !ws_conn_close_received(w->c) && !ctx->cancelled) {
		if (ws_conn_close(w->c, code, reason) == 0)
			rc = wait_close(w, file, line, func);
	}
	if (rc != MITE_ECANCELED)
		report(w, file, line, func);
	ws_free(w);
	return rc;
}

static int sdk_close_code(const mite_ws *w)
{
	return w && w->c && (w->c->close_code && (w->c->err || ws_conn_close_received(w->c)))
		? w->c->close_code
		: 0;
}

static const char *sdk_close_reason(const mite_ws *w)
{
	return w && w->c ? w->c->close_reason : "";
}

static const char *sdk_protocol(const mite_ws *w)
{
	return w && w->c ? w->c->protocol : "";
}

/* ---- the instance's life ------------------------------------------------------ */

void ws_session_end_iteration(struct mite_ctx *ctx)
{
	ws_session *s = ctx->ws;

	if (!s)
		return;
	while (s->list) {
		if (!ctx->cancelled)
			report(s->list, "end of iteration", 0, "ws");
		ws_free(s->list);
	}
}

void ws_session_free(struct mite_ctx *ctx)
{
	ws_session *s = ctx->ws;

	if (!s)
		return;
	while (s->list)
		ws_free(s->list);
	ws_resume_free(&s->resume);
	free(s);
	ctx->ws = NULL;
}

size_t ws_held_bytes(const struct mite_ws *w)
{
	return w && w->c ? w->c->qbytes : 0;
}

static const mite_ws_api sdk_table = {
	.version = MITE_WS_API_VERSION,
	.size = sizeof(mite_ws_api),
	.open = sdk_open,
	.send = sdk_send,
	.recv = sdk_recv,
	.ping = sdk_ping,
	.close = sdk_close,
	.close_code = sdk_close_code,
	.close_reason = sdk_close_reason,
	.protocol = sdk_protocol,
};

const struct mite_ws_api *ws_sdk_api(void)
{
	return &sdk_table;
}
