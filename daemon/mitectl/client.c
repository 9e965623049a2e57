/* client.c - mitectl's side of the control socket (see client.h). */
#include "config.h"

#include "mitectl/client.h"

#include "controller/results_io.h"
#include "mitectl/cli.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A reply longer than this is refused. */
#define REPLY_MAX (64u << 20)

volatile sig_atomic_t client_interrupted;

const char *client_default_socket(void)
{
	static char buf[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
	const char *env = getenv("MITE_SOCKET");
	const char *xrt = getenv("XDG_RUNTIME_DIR");
	if (env && *env)
		return env;
	if (geteuid() != 0 && xrt && *xrt) {
		snprintf(buf, sizeof(buf), "%s/mite/mited.sock", xrt);
		if (access(buf, F_OK) == 0)
			return buf;
	}
	return "/run/mite/mited.sock";
}

/* Why connect failed (errno e), and its exit status. */
static int connect_failed(int e)
{
	switch (e) {
	case ENOENT:
		cli_die("cannot connect to %s: no such socket; is mited running? (start it, "
			"or point --socket / MITE_SOCKET at its socket)",
			cli_socket);
		return EX_UNAVAILABLE_;
	case ECONNREFUSED:
		cli_die("cannot connect to %s: connection refused; mited is not running "
			"(the socket file is stale)",
			cli_socket);
		return EX_UNAVAILABLE_;
	case EACCES:
	case EPERM:
		cli_die("cannot connect to %s: permission denied; you must be root, mited's "
			"user, or in group mite",
			cli_socket);
		return EX_NOPERM_;
	default:
		cli_die("cannot connect to %s: %s", cli_socket, strerror(e));
		return EX_UNAVAILABLE_;
	}
}

int client_open(client_conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(cli_socket) >= sizeof(sa.sun_path)) {
		cli_die("%s: socket path too long (at most %zu bytes)", cli_socket,
			sizeof(sa.sun_path) - 1);
		return EX_USAGE_;
	}
	memcpy(sa.sun_path, cli_socket, strlen(cli_socket) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cli_die("socket failed: %s", strerror(errno));
		return EX_UNAVAILABLE_;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		return connect_failed(e);
	}
	c->fd = fd;
	return 0;
}

void client_close(client_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

int client_send(client_conn *c, cJSON *req)
{
	char *s = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!s) {
		cli_die("out of memory");
		return EX_PROTOCOL;
	}
	size_t n = strlen(s);
	s[n] = '\n'; /* cJSON's buffer has room: its terminating NUL */
	size_t off = 0;
	while (off < n + 1) {
		ssize_t w = send(c->fd, s + off, n + 1 - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			free(s);
			if (e == EPIPE || e == ECONNRESET)
				return EX_UNAVAILABLE_; /* the caller reads why */
			cli_die("%s: sending the request failed: %s", cli_socket, strerror(e));
			return EX_UNAVAILABLE_;
		}
		off += (size_t)w;
	}
	free(s);
	return 0;
}

/* The object on the buffer's first line (taken off it) at nl; NULL with
 * *rc set when it is not one. */
static cJSON *take_line(client_conn *c, char *nl, int *rc)
{
	size_t n = (size_t)(nl - c->buf);
	cJSON *o = cJSON_ParseWithLength(c->buf, n);
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	if (!o || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		cli_die("%s: mited sent something that is not a JSON object", cli_socket);
		*rc = EX_PROTOCOL;
		return NULL;
	}
	return o;
}

/* Room for 4 KiB more in the buffer: 0, or an exit status (said). */
static int make_room(client_conn *c)
{
	if (c->cap - c->len >= 4096)
		return 0;
	size_t cap = c->cap ? c->cap * 2 : 65536;
	if (cap > REPLY_MAX) {
		cli_die("%s: reply too long", cli_socket);
		return EX_PROTOCOL;
	}
	char *nb = realloc(c->buf, cap);
	if (!nb) {
		cli_die("out of memory");
		return EX_PROTOCOL;
	}
	c->buf = nb;
	c->cap = cap;
	return 0;
}

/* Waits for and reads more of the reply: 0 (also when a signal broke the
 * wait but no ^C came: try again), or an exit status. */
static int read_more(client_conn *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int pr = poll(&p, 1, timeout_ms);
	if (pr < 0 && errno == EINTR)
		return client_interrupted ? 130 : 0;
	if (pr == 0) {
		cli_die("%s: no reply from mited within %d s", cli_socket, timeout_ms / 1000);
		return EX_UNAVAILABLE_;
	}
	ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (r < 0 && errno == EINTR)
		return 0;
	if (r <= 0) {
		cli_die("%s: mited closed the connection%s%s", cli_socket, r < 0 ? ": " : "",
			r < 0 ? strerror(errno) : "");
		return EX_UNAVAILABLE_;
	}
	c->len += (size_t)r;
	return 0;
}

cJSON *client_recv(client_conn *c, int timeout_ms, int *rc)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl)
			return take_line(c, nl, rc);
		if ((*rc = make_room(c)) != 0 || (*rc = read_more(c, timeout_ms)) != 0)
			return NULL;
	}
}

int client_reply_error(const cJSON *reply, int status)
{
	const char *e = results_io_str(reply, "error", "unknown error");
	if (cli_json) {
		char *s = cJSON_PrintUnformatted(reply);
		if (s)
			puts(s);
		free(s);
	}
	cli_die("%s", e);
	if (strncmp(e, "permission denied", 17) == 0)
		return EX_NOPERM_;
	return status;
}

cJSON *client_request(client_conn *c, cJSON *req, int *rc)
{
	*rc = client_open(c);
	if (*rc) {
		cJSON_Delete(req);
		return NULL;
	}
	*rc = client_send(c, req);
	if (*rc) {
		/* mited may have refused us at once (and closed): its reason is
		 * waiting to be read. */
		int rc2;
		cJSON *o = client_recv(c, 1000, &rc2);
		if (o)
			*rc = 0;
		return o;
	}
	return client_recv(c, CLIENT_REPLY_TIMEOUT_MS, rc);
}

cJSON *client_req(const char *cmd, const char *run)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cmd", cmd);
	if (run)
		cJSON_AddStringToObject(o, "run", run);
	return o;
}

void client_print_json(const cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	if (s)
		puts(s);
	free(s);
	fflush(stdout);
}

int client_simple(cJSON *req, void (*ok_fn)(const cJSON *reply))
{
	client_conn c;
	int rc;
	cJSON *reply = client_request(&c, req, &rc);
	client_close(&c);
	if (!reply)
		return rc;
	if (!cli_jtrue(reply, "ok")) {
		rc = client_reply_error(reply, EX_FAILED);
		cJSON_Delete(reply);
		return rc;
	}
	if (cli_json)
		client_print_json(reply);
	else if (ok_fn)
		ok_fn(reply);
	cJSON_Delete(reply);
	return EX_OK_;
}
