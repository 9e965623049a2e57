/* utf8.c - well-formed UTF-8 for what goes out as JSON (see utf8.h). */
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_seq_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char c, lo = 0x80, hi = 0xbf;
	size_t len;

	if (n == 0)
		return 0;
	c = p[0];
	if (c < 0x80)
		return 1;
	/* Unicode's table of well-formed byte sequences (Table 3-7): the
	 * second byte's range rules out overlongs, surrogates and code
	 * points past U+10FFFF. */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

int utf8_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k;

		/* ASCII runs are the common case. */
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq_len(s + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

char *utf8_repair(const char *s, size_t n, size_t *outlen)
{
	size_t bad = 0, i = 0, o = 0;
	char *out;

	while (i < n) {
		size_t k = utf8_seq_len(s + i, n - i);

		if (!k) {
			bad++;
			k = 1;
		}
		i += k;
	}
	/* Each bad byte grows by two (1 -> 3 bytes). */
	if (bad > (((size_t)-1) - n - 1) / 2)
		return NULL;
	out = malloc(n + 2 * bad + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n;) {
		size_t k = utf8_seq_len(s + i, n - i);

		if (!k) {
			memcpy(out + o, UTF8_REPLACEMENT, 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

char *utf8_fix(char *s)
{
	size_t n;
	char *r;

	if (!s)
		return NULL;
	n = strlen(s);
	if (utf8_valid(s, n))
		return s;
	r = utf8_repair(s, n, NULL);
	free(s);
	return r;
}

size_t utf8_cut(const char *s, size_t n, size_t max)
{
	size_t i = 0;

	if (n <= max)
		return n;
	while (i < max) {
		size_t k = utf8_seq_len(s + i, n - i);

		if (!k)
			k = 1;
		if (i + k > max)
			break;
		i += k;
	}
	return i;
}

static void append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n >= cap)
		return;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = 0;
}

size_t utf8_printable(char *out, size_t cap, const char *p, size_t n, size_t max)
{
	size_t end = utf8_cut(p, n, max), i = 0, len = 0;
	char esc[8];

	if (!cap)
		return 0;
	out[0] = 0;
	/* Room for the longest piece (a 4-byte escape or character) keeps
	 * the loop simple: it stops before a piece would not fit. */
	while (i < end && len + 8 < cap) {
		size_t k = utf8_seq_len(p + i, end - i);
		unsigned char c = (unsigned char)p[i];

		if (k == 0) {
			append(out, cap, &len, UTF8_REPLACEMENT, 3);
			i++;
		} else if (k == 1 && (c == '\n' || c == '\t')) {
			append(out, cap, &len, p + i, 1);
			i++;
		} else if (k == 1 && c == '\r' && i + 1 < end && p[i + 1] == '\n') {
			i++;
		} else if ((k == 1 && (c < 0x20 || c == 0x7f)) ||
			   (k == 2 && c == 0xc2 && (unsigned char)p[i + 1] < 0xa0)) {
			/* C0 and C1 controls: a terminal would act on them. */
			snprintf(esc, sizeof esc, "\\x%02x", k == 1 ? c : (unsigned char)p[i + 1]);
			append(out, cap, &len, esc, 4);
			i += k;
		} else {
			append(out, cap, &len, p + i, k);
			i += k;
		}
	}
	return i;
}
