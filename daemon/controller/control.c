/*
 * control.c - the control socket: accepting, peer checks, line framing,
 * dispatch and subscriptions. See control.h and mite-control(7).
 */
#include "config.h"

#include "controller/control.h"
#include "core/log.h"
#include "core/utf8.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A client that does not read its replies is dropped once this much is
 * waiting to be written to it: room for two replies of the largest size,
 * so that one big reply never drops a client that reads. */
#define MAX_PENDING_WRITE (2u * CONTROL_REPLY_MAX)
#define MAX_PEER_GROUPS 256

struct control {
	uv_loop_t *loop;
	uv_pipe_t server;
	int listening;
	int closing;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned mode;
	int have_group;
	gid_t gid;
	char group[64];
	size_t max_line;
	uint64_t idle_ms;
	int max_clients;
	const control_cmd *cmds;
	void *data;
	control_client *clients;
	int nclients;
	int nhandles; /* the server pipe, while open */
};

struct control_client {
	control *ctl;
	control_client *next;
	uv_pipe_t pipe;
	uv_timer_t idle;
	uv_timer_t watch;
	int nhandles;
	int closing;
	int eof; /* the client closed its side: close once replies are out */
	int writes; /* writes in flight */
	char *buf;
	size_t len, cap;
	struct ucred cred;
	size_t scanned; /* bytes of buf already searched for a newline */
	control_pending *pending; /* a deferred reply is owed: requests wait */
	/* the subscription */
	int watching;
	control_watch_cb watch_cb;
	void *watch_arg;
	void (*watch_free)(void *);
};

struct control_pending {
	control_client *cl; /* NULL once the client is gone */
	cJSON *id; /* the request's "id", echoed */
};

/* What a handler returns after control_defer: a marker, never sent. */
static cJSON deferred_marker;
cJSON *const control_deferred = &deferred_marker;

typedef struct wreq {
	uv_write_t req;
	control_client *cl;
	char data[];
} wreq;

static void client_close(control_client *cl);

/* ---- replies ------------------------------------------------------------ */

cJSON *control_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(o, "error", msg);
	return o;
}

cJSON *control_ok(void)
{
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddTrueToObject(o, "ok");
	return o;
}

static void client_handle_closed(uv_handle_t *h)
{
	control_client *cl = h->data;
	if (--cl->nhandles > 0)
		return;
	control *c = cl->ctl;
	for (control_client **pp = &c->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	c->nclients--;
	free(cl->buf);
	free(cl);
}

static void watch_end(control_client *cl)
{
	if (!cl->watching)
		return;
	cl->watching = 0;
	uv_timer_stop(&cl->watch);
	if (cl->watch_free)
		cl->watch_free(cl->watch_arg);
	cl->watch_arg = NULL;
	cl->watch_free = NULL;
}

static void client_close(control_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = 1;
	watch_end(cl);
	if (cl->pending)
		cl->pending->cl = NULL; /* its owner still calls control_reply */
	cl->pending = NULL;
	uv_close((uv_handle_t *)&cl->idle, client_handle_closed);
	uv_close((uv_handle_t *)&cl->watch, client_handle_closed);
	uv_close((uv_handle_t *)&cl->pipe, client_handle_closed);
}

static void write_done(uv_write_t *req, int status)
{
	wreq *w = (wreq *)req;
	control_client *cl = w->cl;
	free(w);
	cl->writes--;
	if (status < 0 && !cl->closing) {
		log_debug("control: write to client (pid %d) failed: %s", (int)cl->cred.pid,
			  uv_strerror(status));
		client_close(cl);
		return;
	}
	if (cl->eof && cl->writes == 0 && !cl->watching)
		client_close(cl);
}

/* The reply as one line of well-formed UTF-8, at most CONTROL_REPLY_MAX
 * bytes: a bigger one is replaced by an error that says so (its length in
 * *len). NULL on ENOMEM. Frees obj. */
static char *reply_text(control_client *cl, cJSON *obj, size_t *len)
{
	char *s = utf8_fix(cJSON_PrintUnformatted(obj));
	size_t n = s ? strlen(s) : 0;

	if (s && n + 1 > CONTROL_REPLY_MAX) {
		cJSON *id = cJSON_DetachItemFromObjectCaseSensitive(obj, "id");
		cJSON *e;

		log_warn("control: a reply of %zu bytes to client (pid %d) is over the limit of %u "
			 "bytes; sending an error instead",
			 n, (int)cl->cred.pid, (unsigned)CONTROL_REPLY_MAX);
		free(s);
		e = control_error("the reply would be %zu bytes, over the limit of %u bytes (see "
				  "mite-control(7)); read the run's files in its results folder",
				  n, (unsigned)CONTROL_REPLY_MAX);
		if (e && id)
			cJSON_AddItemToObject(e, "id", id);
		else
			cJSON_Delete(id);
		s = e ? utf8_fix(cJSON_PrintUnformatted(e)) : NULL;
		cJSON_Delete(e);
		n = s ? strlen(s) : 0;
	}
	cJSON_Delete(obj);
	*len = n;
	return s;
}

/* Sends obj as one line and frees it. */
static void client_send(control_client *cl, cJSON *obj)
{
	size_t n;
	char *s;

	if (!obj)
		obj = control_error("internal error: out of memory");
	if (!obj) {
		client_close(cl);
		return;
	}
	s = reply_text(cl, obj, &n);
	if (!s) {
		client_close(cl);
		return;
	}
	if (cl->closing) {
		free(s);
		return;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&cl->pipe) + n > MAX_PENDING_WRITE) {
		log_warn("control: client (pid %d) does not read its replies; disconnecting it",
			 (int)cl->cred.pid);
		free(s);
		client_close(cl);
		return;
	}
	wreq *w = malloc(sizeof(*w) + n + 1);
	if (!w) {
		free(s);
		client_close(cl);
		return;
	}
	memcpy(w->data, s, n);
	w->data[n] = '\n';
	free(s);
	w->cl = cl;
	uv_buf_t b = uv_buf_init(w->data, (unsigned)(n + 1));
	int rc = uv_write(&w->req, (uv_stream_t *)&cl->pipe, &b, 1, write_done);
	if (rc < 0) {
		free(w);
		client_close(cl);
		return;
	}
	cl->writes++;
}

/* Sends one last error and closes once it is written. */
static void client_refuse(control_client *cl, cJSON *err)
{
	client_send(cl, err);
	cl->eof = 1;
	uv_read_stop((uv_stream_t *)&cl->pipe);
	if (cl->writes == 0)
		client_close(cl);
}

/* ---- requests ----------------------------------------------------------- */

static void idle_cb(uv_timer_t *h)
{
	control_client *cl = h->data;
	if (cl->watching || cl->pending)
		return;
	log_debug("control: client (pid %d) idle for %llu s; disconnecting it", (int)cl->cred.pid,
		  (unsigned long long)(cl->ctl->idle_ms / 1000));
	client_refuse(cl,
		      control_error("idle for %llu s; closing",
				    (unsigned long long)(cl->ctl->idle_ms / 1000)));
}

/* The "id" of a request is echoed into its reply: it must stay small. */
static int id_too_long(const cJSON *id)
{
	char *t = cJSON_PrintUnformatted(id);
	size_t n = t ? strlen(t) : (size_t)-1;

	free(t);
	return n > CONTROL_ID_MAX;
}

static void client_line(control_client *cl, char *line, size_t len)
{
	control *c = cl->ctl;
	char *fixed = NULL;
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return;
	/* Any request ends a subscription: the client is talking again. */
	watch_end(cl);
	uv_timer_again(&cl->idle);

	/* One rule for text from outside (core/utf8.h): what is not UTF-8
	 * becomes U+FFFD before any handler sees it, so that names, paths and
	 * ids never carry it into replies, logs or results. JSON's own syntax
	 * is ASCII: only the insides of strings can change. */
	if (!utf8_valid(line, len)) {
		fixed = utf8_repair(line, len, &len);
		if (!fixed) {
			client_send(cl, control_error("out of memory"));
			return;
		}
		line = fixed;
	}
	cJSON *req = cJSON_ParseWithLength(line, len);
	free(fixed);
	cJSON *reply = NULL;
	const cJSON *id = NULL;
	if (!req) {
		reply = control_error("malformed request: not JSON");
		goto send;
	}
	id = cJSON_GetObjectItemCaseSensitive(req, "id");
	if (id && id_too_long(id)) {
		id = NULL;
		reply = control_error("malformed request: \"id\" is longer than %d bytes",
				      CONTROL_ID_MAX);
		goto send;
	}
	if (!cJSON_IsObject(req)) {
		reply = control_error("malformed request: not a JSON object");
		goto send;
	}
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
	if (!cJSON_IsString(cmd)) {
		reply = control_error("malformed request: no string \"cmd\"");
		goto send;
	}
	const control_cmd *k = c->cmds;
	while (k && k->name && strcmp(k->name, cmd->valuestring) != 0)
		k++;
	if (!k || !k->name) {
		reply = control_error("unknown command '%.64s'", cmd->valuestring);
		goto send;
	}
	reply = k->fn(cl, req, c->data);
	if (reply == control_deferred) {
		if (cl->pending) {
			/* control_reply sends it, with the id. */
			cl->pending->id = id ? cJSON_Duplicate(id, 1) : NULL;
			cJSON_Delete(req);
			return;
		}
		reply = NULL; /* deferred without control_defer: a bug */
	}
	if (!reply)
		reply = control_error("internal error in '%s'", k->name);
send:
	/* Echo the request's "id" so that scripts can match replies. */
	if (reply && id && !cJSON_HasObjectItem(reply, "id"))
		cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(id, 1));
	cJSON_Delete(req);
	client_send(cl, reply);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	control_client *cl = h->data;
	(void)suggested;
	size_t want = cl->len + 4096;
	if (want > cl->cap) {
		size_t cap = cl->cap ? cl->cap : 4096;
		while (cap < want)
			cap *= 2;
		char *nb = realloc(cl->buf, cap);
		if (!nb) {
			*b = uv_buf_init(NULL, 0);
			return;
		}
		cl->buf = nb;
		cl->cap = cap;
	}
	*b = uv_buf_init(cl->buf + cl->len, (unsigned)(cl->cap - cl->len));
}

/* Handles the whole lines in the buffer, in order, until one of them is
 * deferred, the client is refused (cl->eof: nothing more it sent is
 * handled) or closed. What is left must fit in the line limit. */
static void client_process(control_client *cl)
{
	control *c = cl->ctl;
	size_t off = 0, i;
	int overlong = 0;

	for (i = cl->scanned; i < cl->len && !cl->closing && !cl->eof && !cl->pending; i++) {
		if (cl->buf[i] != '\n')
			continue;
		if (i - off > c->max_line) {
			overlong = 1;
			break;
		}
		client_line(cl, cl->buf + off, i - off);
		off = i + 1;
	}
	if (cl->closing || cl->eof)
		return;
	size_t rest = cl->len - off;
	if (overlong || rest > c->max_line) {
		log_warn(
			"control: client (pid %d) sent a line longer than %zu bytes; disconnecting it",
			(int)cl->cred.pid, c->max_line);
		cl->len = 0;
		client_refuse(cl, control_error("request line longer than %zu bytes", c->max_line));
		return;
	}
	memmove(cl->buf, cl->buf + off, rest);
	cl->len = rest;
	/* Stopped at a deferred line: the rest is searched again later. */
	cl->scanned = cl->pending ? 0 : rest;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	control_client *cl = s->data;
	control *c = cl->ctl;
	(void)b;
	if (cl->closing)
		return;
	if (nread == UV_ENOBUFS) {
		client_close(cl);
		return;
	}
	if (nread < 0) {
		uv_read_stop(s);
		if (nread != UV_EOF) {
			client_close(cl);
			return;
		}
		/* A last request without its newline still counts. */
		if (cl->len && cl->len <= c->max_line)
			client_line(cl, cl->buf, cl->len);
		cl->len = 0;
		cl->scanned = 0;
		cl->eof = 1;
		if (!cl->closing && cl->writes == 0 && !cl->watching && !cl->pending)
			client_close(cl);
		return;
	}
	cl->len += (size_t)nread;
	client_process(cl);
}

/* ---- deferred replies --------------------------------------------------- */

control_pending *control_defer(control_client *cl)
{
	control_pending *p;

	if (cl->pending || cl->closing)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cl = cl;
	cl->pending = p;
	/* Its next requests wait in the socket: replies stay in order, and
	 * nothing piles up here meanwhile. */
	uv_read_stop((uv_stream_t *)&cl->pipe);
	return p;
}

void control_reply(control_pending *p, cJSON *reply)
{
	control_client *cl = p->cl;

	if (!cl) {
		/* The client went away meanwhile. */
		cJSON_Delete(reply);
		cJSON_Delete(p->id);
		free(p);
		return;
	}
	cl->pending = NULL;
	if (reply && p->id && !cJSON_HasObjectItem(reply, "id"))
		cJSON_AddItemToObject(reply, "id", p->id);
	else
		cJSON_Delete(p->id);
	free(p);
	client_send(cl, reply);
	if (cl->closing)
		return;
	uv_timer_again(&cl->idle);
	/* The requests that came while it waited. */
	client_process(cl);
	if (!cl->closing && !cl->eof && !cl->pending)
		uv_read_start((uv_stream_t *)&cl->pipe, alloc_cb, read_cb);
}

/* ---- access ------------------------------------------------------------- */

static int peer_in_group(control *c, int fd, const struct ucred *cr)
{
	if (!c->have_group)
		return 0;
	if (cr->gid == c->gid)
		return 1;
	gid_t groups[MAX_PEER_GROUPS];
	socklen_t len = sizeof(groups);
#ifdef SO_PEERGROUPS
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == c->gid)
				return 1;
		return 0;
	}
#endif
	/* Older kernels: the peer user's groups from the group database. */
	struct passwd *pw = getpwuid(cr->uid);
	int n = MAX_PEER_GROUPS;
	if (pw && getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0)
		for (int i = 0; i < n; i++)
			if (groups[i] == c->gid)
				return 1;
	return 0;
}

static void connection_cb(uv_stream_t *server, int status)
{
	control *c = server->data;
	if (status < 0) {
		log_warn("control: accept failed: %s", uv_strerror(status));
		return;
	}
	control_client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		goto fail;
	cl->ctl = c;
	if (uv_pipe_init(c->loop, &cl->pipe, 0) < 0) {
		free(cl);
		goto fail;
	}
	cl->pipe.data = cl;
	uv_timer_init(c->loop, &cl->idle);
	cl->idle.data = cl;
	uv_timer_init(c->loop, &cl->watch);
	cl->watch.data = cl;
	cl->nhandles = 3;
	cl->next = c->clients;
	c->clients = cl;
	c->nclients++;
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) < 0) {
		client_close(cl);
		return;
	}
	uv_os_fd_t fd = -1;
	socklen_t len = sizeof(cl->cred);
	if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cl->cred, &len) < 0) {
		log_warn("control: cannot read the peer's credentials: %s", strerror(errno));
		client_close(cl);
		return;
	}
	uv_read_start((uv_stream_t *)&cl->pipe, alloc_cb, read_cb);
	if (cl->cred.uid != 0 && cl->cred.uid != geteuid() && !peer_in_group(c, fd, &cl->cred)) {
		log_warn(
			"control: refused a client: uid %u (pid %d) is not root, the daemon's user "
			"or in group %s",
			(unsigned)cl->cred.uid, (int)cl->cred.pid,
			c->have_group ? c->group : "mite");
		client_refuse(cl,
			      control_error("permission denied: uid %u is not root, the daemon's "
					    "user, or a member of group %s",
					    (unsigned)cl->cred.uid,
					    c->have_group ? c->group : "mite"));
		return;
	}
	if (c->nclients > c->max_clients) {
		log_warn("control: refused a client (pid %d): already %d clients",
			 (int)cl->cred.pid, c->max_clients);
		client_refuse(
			cl,
			control_error("too many clients (%d); try again later", c->max_clients));
		return;
	}
	uv_timer_start(&cl->idle, idle_cb, c->idle_ms, c->idle_ms);
	return;

fail:
	log_err("control: accept failed: out of memory");
}

/* ---- subscriptions ------------------------------------------------------ */

static void watch_cb(uv_timer_t *h)
{
	control_client *cl = h->data;
	if (!cl->watching || cl->closing)
		return;
	cJSON *o = cl->watch_cb(cl, cl->watch_arg, cl->ctl->data);
	if (!o) {
		watch_end(cl);
		if (cl->eof && cl->writes == 0)
			client_close(cl);
		return;
	}
	client_send(cl, o);
}

int control_client_watch(control_client *cl, double interval, control_watch_cb cb, void *arg,
			 void (*arg_free)(void *))
{
	if (cl->closing)
		return -EPIPE;
	watch_end(cl);
	if (!(interval >= 0.1))
		interval = 0.1;
	if (interval > 3600)
		interval = 3600;
	uint64_t ms = (uint64_t)(interval * 1000.0);
	cl->watching = 1;
	cl->watch_cb = cb;
	cl->watch_arg = arg;
	cl->watch_free = arg_free;
	uv_timer_start(&cl->watch, watch_cb, ms, ms);
	return 0;
}

uid_t control_client_uid(const control_client *cl)
{
	return cl->cred.uid;
}
pid_t control_client_pid(const control_client *cl)
{
	return cl->cred.pid;
}
int control_nclients(const control *c)
{
	return c->nclients;
}

/* ---- the socket --------------------------------------------------------- */

/* A socket file that nobody listens on is stale and may go; one that
 * answers belongs to a live daemon. 0 or -1 with err set. */
static int remove_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket failed: %s", strerror(errno));
		return -1;
	}
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another mited is already listening there", path);
		return -1;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "%s: cannot tell whether it is in use: %s", path,
			 strerror(e));
		return -1;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void server_closed(uv_handle_t *h)
{
	control *c = h->data;
	c->nhandles--;
}

static void free_when_done(uv_handle_t *h);

control *control_new(uv_loop_t *loop, const control_opts *o, char *err, size_t errlen)
{
	control *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->loop = loop;
	c->mode = o->mode ? o->mode : 0660;
	c->max_line = o->max_line ? o->max_line : CONTROL_MAX_LINE_DEFAULT;
	double idle = o->idle_timeout > 0 ? o->idle_timeout : CONTROL_IDLE_TIMEOUT_DEFAULT;
	c->idle_ms = (uint64_t)(idle * 1000.0);
	c->max_clients = o->max_clients > 0 ? o->max_clients : CONTROL_MAX_CLIENTS_DEFAULT;
	c->cmds = o->cmds;
	c->data = o->data;
	size_t plen = strlen(o->path);
	if (plen == 0 || plen >= sizeof(c->path)) {
		snprintf(err, errlen, "socket path '%s' is %s (at most %zu bytes)", o->path,
			 plen ? "too long" : "empty", sizeof(c->path) - 1);
		goto fail;
	}
	memcpy(c->path, o->path, plen + 1);
	if (o->group) {
		struct group *g = getgrnam(o->group);
		if (g) {
			c->have_group = 1;
			c->gid = g->gr_gid;
		}
		snprintf(c->group, sizeof(c->group), "%s", o->group);
	}
	if (remove_stale(c->path, err, errlen) < 0)
		goto fail;
	int rc = uv_pipe_init(loop, &c->server, 0);
	if (rc < 0) {
		snprintf(err, errlen, "uv_pipe_init failed: %s", uv_strerror(rc));
		goto fail;
	}
	c->server.data = c;
	c->nhandles = 1;
	/* Create the socket file with its final mode: no window in which it is
	 * wider open than configured. */
	mode_t old = umask(0777 & ~c->mode);
	rc = uv_pipe_bind(&c->server, c->path);
	umask(old);
	if (rc < 0) {
		snprintf(err, errlen, "cannot bind %s: %s", c->path, uv_strerror(rc));
		goto fail_pipe;
	}
	if (chmod(c->path, c->mode) != 0) {
		snprintf(err, errlen, "cannot chmod %s: %s", c->path, strerror(errno));
		goto fail_bound;
	}
	if (c->have_group && chown(c->path, (uid_t)-1, c->gid) != 0)
		log_warn("control: cannot give %s to group %s: %s", c->path, c->group,
			 strerror(errno));
	rc = uv_listen((uv_stream_t *)&c->server, 64, connection_cb);
	if (rc < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", c->path, uv_strerror(rc));
		goto fail_bound;
	}
	c->listening = 1;
	return c;

fail_bound:
	unlink(c->path);
fail_pipe:
	/* The handle must be closed on the loop before c can go. */
	uv_close((uv_handle_t *)&c->server, free_when_done);
	return NULL;
fail:
	free(c);
	return NULL;
}

static void free_when_done(uv_handle_t *h)
{
	free(h->data);
}

void control_stop_accepting(control *c)
{
	if (!c->listening)
		return;
	c->listening = 0;
	unlink(c->path);
	uv_close((uv_handle_t *)&c->server, server_closed);
}

static void idle_free_cb(uv_idle_t *h);

void control_close(control *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	control_stop_accepting(c);
	for (control_client *cl = c->clients; cl; cl = cl->next)
		client_close(cl);
	/* Free c once its server and clients' handles are closed: checked from
	 * an idle handle, which is the last thing to go. */
	uv_idle_t *h = malloc(sizeof(*h));
	if (!h)
		return; /* leaks c rather than freeing it under live handles */
	uv_idle_init(c->loop, h);
	h->data = c;
	uv_idle_start(h, idle_free_cb);
}

static void idle_closed(uv_handle_t *h)
{
	free(h);
}

static void idle_free_cb(uv_idle_t *h)
{
	control *c = h->data;
	if (c->nhandles > 0 || c->clients)
		return;
	free(c);
	uv_close((uv_handle_t *)h, idle_closed);
}
