/* ws_tls.c - see ws_tls.h. */
#include "runner/ws_tls.h"

#include <stdio.h>

/* Keeps the words of failure f in c (class cls unless f says otherwise)
 * and returns WS_IO_ERR. */
static int failed(ws_conn *c, const tls_fail *f, int cls)
{
	const char *check = tls_check_words(f->kind, f->verify, f->msg);
	const char *msg = f->msg[0] ? f->msg : "TLS failed";

	if (f->kind == TLS_F_NOMEM)
		cls = WSE_NOMEM;
	c->io_class = cls;
	c->oserr = f->oserr;
	snprintf(c->io_why, sizeof(c->io_why), "%s%s%s", check ? check : "", check ? ": " : "",
		 msg);
	return WS_IO_ERR;
}

static int want(int rc)
{
	return rc == TLS_WANT_WRITE ? WS_IO_WANT_WRITE : WS_IO_WANT_READ;
}

static int tls_start(ws_conn *c)
{
	tls_fail f = { 0 };
	int rc;

	/* The context's files are read at its first connection: one that
	 * does not load fails here, as an https:// request's would. */
	if (!c->tc && !(c->tc = tls_conn_new(c->tls, c->fd, c->host, c->port, &c->tls_sess, &f)))
		return failed(c, &f, WSE_TLS);
	rc = tls_handshake(c->tc, &f);
	if (rc == TLS_OK)
		return 0;
	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE)
		return want(rc);
	/* The server ended the connection in the handshake: a TLS failure,
	 * as libcurl says it. */
	return failed(c, &f, WSE_TLS);
}

static ssize_t tls_io_read(ws_conn *c, void *buf, size_t len)
{
	tls_fail f = { 0 };
	size_t got = 0;
	int rc = tls_read(c->tc, buf, len, &got, &f);

	if (rc == TLS_OK)
		return (ssize_t)got;
	if (rc == TLS_EOF)
		return 0;
	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE)
		return want(rc);
	return failed(c, &f, WSE_RESET);
}

/* `more` cannot batch here: each write is a TLS record of its own. */
static ssize_t tls_io_write(ws_conn *c, const void *buf, size_t len, int more)
{
	tls_fail f = { 0 };
	size_t put = 0;
	int rc;

	(void)more;
	rc = tls_write(c->tc, buf, len, &put, &f);
	if (rc == TLS_OK)
		return (ssize_t)put;
	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE)
		return want(rc);
	return failed(c, &f, WSE_RESET);
}

static void tls_io_free(ws_conn *c, int clean)
{
	if (!c->tc)
		return;
	/* A close_notify goes out only after a handshake that finished. */
	tls_conn_free(c->tc, clean && c->state >= WS_UPGRADING);
	c->tc = NULL;
}

static const ws_io tls_io = {
	.start = tls_start,
	.read = tls_io_read,
	.write = tls_io_write,
	.free = tls_io_free,
};

const ws_io *ws_tls_io(void)
{
	return &tls_io;
}
