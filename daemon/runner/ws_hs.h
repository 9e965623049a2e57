/*
 * ws_hs.h - the WebSocket opening handshake (RFC 6455 section 4) for the
 * runner's WebSocket client (runner/ws_conn.c): URLs, the Upgrade request,
 * and the check of the server's 101 reply.
 *
 * Pure code: no I/O, no libuv. SHA-1 and base64 are OpenSSL's (libcrypto),
 * the key's randomness too.
 */
#ifndef MITE_RUNNER_WS_HS_H
#define MITE_RUNNER_WS_HS_H

#include "runner/http1.h"
#include <stddef.h>

/* A Sec-WebSocket-Key (base64 of 16 bytes) and an Accept (of 20): lengths
 * with the NUL. */
#define WS_HS_KEY_LEN 25
#define WS_HS_ACCEPT_LEN 29
/* The longest subprotocol list offered, and chosen, kept. */
#define WS_HS_MAX_PROTOCOLS 256

/* Splits a ws:// or wss:// URL (scheme in any case) into u, through buf:
 * u's spans point into buf, which holds the URL rewritten as http(s)://.
 * *tls is 1 for wss://. 0, -EINVAL (another scheme, a fragment, or what
 * http1_url_parse refuses) or -ENOMEM. */
int ws_hs_url(const char *url, http1_buf *buf, http1_url *u, int *tls);

/* A fresh random key, NUL-terminated. 0, or -EIO when the random
 * generator fails. */
int ws_hs_key(char key[WS_HS_KEY_LEN]);
/* The Sec-WebSocket-Accept a server must answer key with. */
void ws_hs_accept(const char *key, char out[WS_HS_ACCEPT_LEN]);

/* Writes the Upgrade request for u into b (replacing what b held): Host,
 * Upgrade, Connection, Sec-WebSocket-Key and -Version, User-Agent (unless
 * headers name one), Sec-WebSocket-Protocol when protocols is set, then
 * headers ("Name: value" lines, NULL-terminated). 0, -EINVAL (a header
 * line without a name and colon, with CR or LF, or naming a header the
 * handshake owns) or -ENOMEM. */
int ws_hs_request(http1_buf *b, const http1_url *u, const char *key, const char *protocols,
		  const char *const *headers, const char *user_agent);

/* Checks a parsed reply head (the http1 parser's "Name:value\0" lines,
 * hlen bytes) with its status against the request's key and offered
 * protocols. 0 with the chosen protocol in proto (may be "", at most
 * WS_HS_MAX_PROTOCOLS bytes with the NUL), or -1 with *why saying what is
 * wrong (a static string). */
int ws_hs_check(int status, const char *head, size_t hlen, const char *key, const char *protocols,
		char *proto, const char **why);

/* The value of header name (any case) in the "Name:value\0" lines, or
 * NULL. */
const char *ws_hs_header(const char *head, size_t hlen, const char *name);

#endif
