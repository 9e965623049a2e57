/*
 * ws_server.h - a WebSocket test server on libuv and wslay, for mite's
 * tests (in-process) and mite-target --ws-port. Loopback use only.
 *
 * The path chooses what a connection does (query parameters in brackets):
 *   /echo               echoes every message (text as text, binary as binary)
 *   /close[?code=N&after=K&reason=R]  echoes K messages (default 0), then
 *                       sends a close with code N (default 1000)
 *   /silent             reads and counts messages, never answers
 *   /bad[?after=K]      echoes K messages, then sends a frame with a reserved
 *                       opcode (a protocol error for the client)
 *   /big?size=N         answers each message with one of N bytes (N up to
 *                       64 MiB)
 *   /push?n=N&size=S    sends N messages of S bytes once open
 *   /drop[?after=K]     echoes K messages, then ends TCP without a close frame
 *   /reject             answers the handshake with 403
 *   /badaccept          answers 101 with a wrong Sec-WebSocket-Accept
 *   anything else       as /echo
 * It counts what it received and sent (payload bytes of data messages).
 */
#ifndef MITE_TESTS_WS_SERVER_H
#define MITE_TESTS_WS_SERVER_H

#include <stdint.h>
#include <uv.h>

typedef struct ws_server ws_server;

typedef struct ws_server_counts {
	uint64_t connections; /* handshakes answered with 101 */
	uint64_t open; /* connections open now */
	uint64_t msgs_in, bytes_in, msgs_out, bytes_out;
	uint64_t closes_in; /* close frames received */
	int last_close_code; /* the code of the last one (0: none) */
	int tls_version; /* wss: the last handshake's TLS version (12, 13) */
	uint64_t client_certs; /* wss: handshakes with a client certificate */
	uint64_t resumed; /* wss: handshakes that resumed a session */
} ws_server_counts;

/* Listens on host:port (0: a free port) on loop. NULL with a message on
 * stderr on failure. */
ws_server *ws_server_new(uv_loop_t *loop, const char *host, int port);
/* Speaks TLS (wss://) from now on, with the PEM certificate chain cert
 * and its key. 0, or -1 with a message on stderr. */
int ws_server_tls(ws_server *s, const char *cert, const char *key);
/* wss: asks every client for a certificate signed by a CA of the PEM file
 * ca, and refuses one without. 0, or -1 with a message on stderr. */
int ws_server_tls_client_ca(ws_server *s, const char *ca);
int ws_server_port(const ws_server *s);
void ws_server_counts_get(const ws_server *s, ws_server_counts *out);
void ws_server_counts_reset(ws_server *s);
/* Closes the listener and every connection; the memory goes once the
 * loop has run their close callbacks. */
void ws_server_close(ws_server *s);

#endif
