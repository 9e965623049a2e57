/* ws_hs.c - see ws_hs.h. */
#include "runner/ws_hs.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

/* RFC 6455 section 1.3: what the key is hashed with. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_hs_url(const char *url, http1_buf *buf, http1_url *u, int *tls)
{
	size_t skip, n;
	const char *scheme;

	if (!url)
		return -EINVAL;
	if (strncasecmp(url, "ws://", 5) == 0) {
		skip = 5;
		scheme = "http://";
		*tls = 0;
	} else if (strncasecmp(url, "wss://", 6) == 0) {
		skip = 6;
		scheme = "https://";
		*tls = 1;
	} else {
		return -EINVAL;
	}
	/* RFC 6455 section 3: no fragment. */
	if (strchr(url, '#'))
		return -EINVAL;
	n = strlen(url + skip);
	if (http1_buf_reserve(buf, strlen(scheme) + n + 1) < 0)
		return -ENOMEM;
	memcpy(buf->p, scheme, strlen(scheme));
	memcpy(buf->p + strlen(scheme), url + skip, n + 1);
	buf->len = strlen(scheme) + n;
	return http1_url_parse(buf->p, u) == 0 ? 0 : -EINVAL;
}

int ws_hs_key(char key[WS_HS_KEY_LEN])
{
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
	return 0;
}

void ws_hs_accept(const char *key, char out[WS_HS_ACCEPT_LEN])
{
	unsigned char in[64 + sizeof(ws_guid)], md[SHA_DIGEST_LENGTH];
	size_t kl = strnlen(key, 64);

	memcpy(in, key, kl);
	memcpy(in + kl, ws_guid, sizeof(ws_guid) - 1);
	SHA1(in, kl + sizeof(ws_guid) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
}

static int app(http1_buf *b, const char *p, size_t n)
{
	if (b->len + n > b->cap && http1_buf_reserve(b, b->len + n) < 0)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int app_s(http1_buf *b, const char *s)
{
	return app(b, s, strlen(s));
}

/* Headers the handshake writes itself: a journey's cannot replace them. */
static const char *const owned[] = { "Host",
				     "Upgrade",
				     "Connection",
				     "Sec-WebSocket-Key",
				     "Sec-WebSocket-Version",
				     "Sec-WebSocket-Extensions",
				     "Sec-WebSocket-Protocol",
				     "Content-Length",
				     "Transfer-Encoding",
				     NULL };

/* The length of line's header name, or 0 when it is not "Name: value"
 * (a token, a colon, no CR or LF anywhere). */
static size_t line_name(const char *line)
{
	const char *c = strchr(line, ':');
	size_t n;

	if (!c || c == line || strpbrk(line, "\r\n"))
		return 0;
	n = (size_t)(c - line);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (ch <= ' ' || ch >= 127 || strchr("\"(),/:;<=>?@[\\]{}", ch))
			return 0;
	}
	return n;
}

static int named(const char *line, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(line, name, n) == 0;
}

int ws_hs_request(http1_buf *b, const http1_url *u, const char *key, const char *protocols,
		  const char *const *headers, const char *user_agent)
{
	int err = 0, ua = 0;
	size_t hp;

	for (const char *const *h = headers; h && *h; h++) {
		size_t n = line_name(*h);
		if (!n)
			return -EINVAL;
		for (const char *const *o = owned; *o; o++)
			if (named(*h, n, *o))
				return -EINVAL;
		ua |= named(*h, n, "User-Agent");
	}
	if (protocols && (strpbrk(protocols, "\r\n") || strlen(protocols) >= WS_HS_MAX_PROTOCOLS))
		return -EINVAL;
	b->len = 0;
	err |= app_s(b, "GET ");
	err |= app(b, u->path, u->path_len);
	err |= app_s(b, " HTTP/1.1\r\nHost: ");
	/* As browsers: no default port in Host. */
	hp = u->hostport_len;
	if ((!u->https && u->port == 80) || (u->https && u->port == 443))
		hp = (size_t)(u->host - u->hostport) + u->host_len + (u->host != u->hostport);
	err |= app(b, u->hostport, hp);
	err |= app_s(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
	err |= app_s(b, key);
	err |= app_s(b, "\r\nSec-WebSocket-Version: 13\r\n");
	if (protocols && *protocols) {
		err |= app_s(b, "Sec-WebSocket-Protocol: ");
		err |= app_s(b, protocols);
		err |= app_s(b, "\r\n");
	}
	if (!ua && user_agent) {
		err |= app_s(b, "User-Agent: ");
		err |= app_s(b, user_agent);
		err |= app_s(b, "\r\n");
	}
	for (const char *const *h = headers; h && *h; h++) {
		err |= app_s(b, *h);
		err |= app_s(b, "\r\n");
	}
	err |= app_s(b, "\r\n");
	return err ? -ENOMEM : 0;
}

const char *ws_hs_header(const char *head, size_t hlen, const char *name)
{
	size_t nl = strlen(name), off = 0;

	while (off < hlen) {
		const char *line = head + off;
		size_t ll = strnlen(line, hlen - off);

		if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0)
			return line + nl + 1;
		off += ll + 1;
	}
	return NULL;
}

/* Whether the comma-separated list holds token tok (any case). */
static int list_has(const char *list, const char *tok)
{
	size_t tl = strlen(tok);

	while (*list) {
		const char *e;
		size_t n;

		while (*list == ' ' || *list == '\t' || *list == ',')
			list++;
		e = strchr(list, ',');
		n = e ? (size_t)(e - list) : strlen(list);
		while (n && (list[n - 1] == ' ' || list[n - 1] == '\t'))
			n--;
		if (n == tl && strncasecmp(list, tok, tl) == 0)
			return 1;
		list += e ? (size_t)(e - list) : strlen(list);
	}
	return 0;
}

int ws_hs_check(int status, const char *head, size_t hlen, const char *key, const char *protocols,
		char *proto, const char **why)
{
	char want[WS_HS_ACCEPT_LEN];
	const char *v;

	proto[0] = 0;
	if (status != 101) {
		*why = "the server did not switch protocols";
		return -1;
	}
	v = ws_hs_header(head, hlen, "Upgrade");
	if (!v || !list_has(v, "websocket")) {
		*why = "the reply's Upgrade is not websocket";
		return -1;
	}
	v = ws_hs_header(head, hlen, "Connection");
	if (!v || !list_has(v, "upgrade")) {
		*why = "the reply's Connection has no upgrade";
		return -1;
	}
	ws_hs_accept(key, want);
	v = ws_hs_header(head, hlen, "Sec-WebSocket-Accept");
	if (!v || strcmp(v, want) != 0) {
		*why = "the reply's Sec-WebSocket-Accept does not match the key";
		return -1;
	}
	if (ws_hs_header(head, hlen, "Sec-WebSocket-Extensions")) {
		*why = "the server chose an extension, and none was offered";
		return -1;
	}
	v = ws_hs_header(head, hlen, "Sec-WebSocket-Protocol");
	if (v) {
		size_t n = strlen(v);
		if (!protocols || !*v || strchr(v, ',') || !list_has(protocols, v) ||
		    n >= WS_HS_MAX_PROTOCOLS) {
			*why = "the server chose a subprotocol that was not offered";
			return -1;
		}
		memcpy(proto, v, n + 1);
	}
	return 0;
}
