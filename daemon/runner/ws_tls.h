/*
 * ws_tls.h - the I/O layer of wss:// connections (runner/ws_conn.h's
 * ws_io) on the native TLS client (runner/tls.h): the handshake after the
 * TCP connect (verification, SNI, ALPN http/1.1, client certificate and
 * versions as the connection's TLS context says), then application data.
 *
 * Failures are worded as the HTTP calls word theirs (which check failed,
 * then OpenSSL's or libcurl's message) and classed as theirs: the
 * handshake's as "tls", a record that cannot be read or written once open
 * as "reset".
 */
#ifndef MITE_RUNNER_WS_TLS_H
#define MITE_RUNNER_WS_TLS_H

#include "runner/ws_conn.h"

/* The layer (static; c->tls holds the settings). */
const ws_io *ws_tls_io(void);

#endif
