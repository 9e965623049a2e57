/*
 * har_body.c - base64 request bodies and form parameters (har_body.h).
 */
#include "config.h"

#include "har/har_body.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The value of a base64 digit, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int har_body_base64(const char *s, unsigned char **out, size_t *outlen, size_t max)
{
	size_t n = 0, pad = 0, digits = 0, len = strlen(s);
	unsigned acc = 0;
	int bits = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	/* At most 3 bytes per 4 digits. */
	buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return -ENOMEM;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int v = b64_value(*p);

		if (isspace(*p))
			continue;
		if (*p == '=') {
			pad++;
			continue;
		}
		if (v < 0 || pad)
			goto bad; /* a stray character, or a digit after padding */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		digits++;
		if (bits >= 8) {
			bits -= 8;
			if (n == max) {
				free(buf);
				return -E2BIG;
			}
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* A last group of one digit is no byte; padding, when there is
	 * some, fills the last group to four. */
	if (digits % 4 == 1 || (pad && (digits % 4 == 0 || (digits + pad) % 4 != 0)))
		goto bad;
	*out = buf;
	*outlen = n;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* Appends s form-encoded. */
static void form_encode(char *o, size_t *n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("*-._", *p)) {
			o[(*n)++] = (char)*p;
		} else if (*p == ' ') {
			o[(*n)++] = '+';
		} else {
			o[(*n)++] = '%';
			o[(*n)++] = hex[*p >> 4];
			o[(*n)++] = hex[*p & 15];
		}
	}
}

int har_body_form_add(char **buf, size_t *len, const char *name, const char *value, size_t max)
{
	/* Each byte may become three. */
	size_t most = *len + 1 + 3 * (strlen(name) + strlen(value)) + 1;
	char *b = realloc(*buf, most + 1);

	if (!b)
		return -ENOMEM;
	*buf = b;
	if (*len)
		b[(*len)++] = '&';
	form_encode(b, len, name);
	b[(*len)++] = '=';
	form_encode(b, len, value);
	b[*len] = '\0';
	return *len > max ? -E2BIG : 0;
}
