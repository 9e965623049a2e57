/*
 * fuzz_control.c - the control socket's framing and request parsing, fed
 * through a real socket: control.c keeps its line handling static and
 * tied to its libuv stream, so the target is a client.
 *
 * One control socket lives for the whole process, on a loop run from this
 * thread. Each input is one connection: the bytes are written (as fast as
 * the socket takes them), the write side is shut, and the loop runs until
 * the server closes the connection. Every reply must be one line holding a
 * JSON object with "ok". A connection the server never closes is a hang,
 * which libFuzzer reports (-timeout).
 *
 * The command table is a stand-in (the daemon's own handlers start runs);
 * the line limit is small so that oversized lines are reached often.
 */
#include "controller/control.h"
#include "fuzz.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#define FUZZ_MAX_LINE 512

static uv_loop_t loop;
static control *ctl;
static char sock_path[108];

static cJSON *cmd_ping(control_client *cl, const cJSON *req, void *data)
{
	cJSON *o = control_ok();

	(void)cl;
	(void)req;
	(void)data;
	if (o)
		cJSON_AddStringToObject(o, "pong", "mite");
	return o;
}

/* A handler that fails (the socket answers with an internal error). */
static cJSON *cmd_null(control_client *cl, const cJSON *req, void *data)
{
	(void)cl;
	(void)req;
	(void)data;
	return NULL;
}

/* Echoes the request back with "ok": true (a handler's reply must have a
 * boolean "ok"), as handlers that quote their arguments do. */
static cJSON *cmd_echo(control_client *cl, const cJSON *req, void *data)
{
	cJSON *o = cJSON_Duplicate(req, 1);

	(void)cl;
	(void)data;
	if (!o)
		return NULL;
	while (cJSON_GetObjectItemCaseSensitive(o, "ok"))
		cJSON_DeleteItemFromObjectCaseSensitive(o, "ok");
	cJSON_AddTrueToObject(o, "ok");
	return o;
}

static const control_cmd cmds[] = {
	{ "ping", cmd_ping },
	{ "null", cmd_null },
	{ "echo", cmd_echo },
	{ NULL, NULL },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	control_opts o = { .max_line = FUZZ_MAX_LINE, .cmds = cmds };
	char err[256];
	int n;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	signal(SIGPIPE, SIG_IGN);
	n = snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", fuzz_dir());
	if (n < 0 || (size_t)n >= sizeof(sock_path) || uv_loop_init(&loop) != 0)
		abort();
	o.path = sock_path;
	ctl = control_new(&loop, &o, err, sizeof(err));
	if (!ctl) {
		fprintf(stderr, "fuzz: control_new failed: %s\n", err);
		abort();
	}
	return 0;
}

/* Each complete reply line must be a JSON object with a boolean "ok". */
static void check_replies(char *buf, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		cJSON *o;

		if (buf[i] != '\n')
			continue;
		o = cJSON_ParseWithLength(buf + start, i - start);
		if (!o || !cJSON_IsObject(o) ||
		    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
			fprintf(stderr, "fuzz: bad reply line: %.*s\n", (int)(i - start),
				buf + start);
			abort();
		}
		cJSON_Delete(o);
		start = i + 1;
	}
	if (start != len) {
		fprintf(stderr, "fuzz: reply without its newline\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t off = 0, rlen = 0, rcap = 4096;
	char *replies = malloc(rcap);
	int fd, shut = 0, eof = 0;

	if (!replies)
		return 0;
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("fuzz: connect");
		abort();
	}
	while (!eof) {
		struct pollfd pf[2] = {
			{ .fd = fd, .events = POLLIN | (shut ? 0 : POLLOUT) },
			{ .fd = uv_backend_fd(&loop), .events = POLLIN },
		};

		int wait = uv_backend_timeout(&loop);

		/* No longer than the loop may sleep: callbacks may be due
		 * without its fd stirring (a write done, a handle closing). */
		poll(pf, 2, wait < 0 || wait > 100 ? 100 : wait);
		uv_run(&loop, UV_RUN_NOWAIT);
		if (!shut) {
			ssize_t n = off < size ? send(fd, data + off, size - off, MSG_NOSIGNAL) : 0;

			if (n > 0)
				off += (size_t)n;
			/* All sent, or the server stopped listening (refused). */
			if (off == size || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				shutdown(fd, SHUT_WR);
				shut = 1;
			}
		}
		for (;;) {
			ssize_t n;

			if (rlen == rcap) {
				char *r = realloc(replies, rcap * 2);

				if (!r)
					abort();
				replies = r;
				rcap *= 2;
			}
			n = recv(fd, replies + rlen, rcap - rlen, 0);
			if (n > 0) {
				rlen += (size_t)n;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				eof = 1;
			break;
		}
	}
	close(fd);
	/* Let the server finish closing its side of the connection. */
	while (control_nclients(ctl) > 0)
		uv_run(&loop, UV_RUN_ONCE);
	check_replies(replies, rlen);
	free(replies);
	return 0;
}
