/*
 * har_cstr.c - C string literals, comments and libconfig strings from
 * any bytes (har_cstr.h).
 */
#include "config.h"

#include "har/har_cstr.h"

#include <errno.h>
#include <string.h>

/* The source text of byte c inside a literal, into buf (at most 4 chars
 * and a NUL); after_q says that the last source character was a '?'. */
static size_t escape(unsigned char c, int after_q, char *buf)
{
	static const char oct[] = "01234567";

	switch (c) {
	case '"':
		memcpy(buf, "\\\"", 3);
		return 2;
	case '\\':
		memcpy(buf, "\\\\", 3);
		return 2;
	case '\n':
		memcpy(buf, "\\n", 3);
		return 2;
	case '\r':
		memcpy(buf, "\\r", 3);
		return 2;
	case '\t':
		memcpy(buf, "\\t", 3);
		return 2;
	case '?':
		if (after_q) {
			memcpy(buf, "\\?", 3);
			return 2;
		}
		break;
	default:
		if (c < 0x20 || c > 0x7e) {
			buf[0] = '\\';
			buf[1] = oct[c >> 6];
			buf[2] = oct[(c >> 3) & 7];
			buf[3] = oct[c & 7];
			buf[4] = '\0';
			return 4;
		}
	}
	buf[0] = (char)c;
	buf[1] = '\0';
	return 1;
}

int har_cstr_writev(FILE *f, const har_cstr_seg *segs, size_t nsegs, size_t wrap,
		    const char *indent)
{
	size_t width = 0, total = 0, done = 0;
	int after_q = 0;

	for (size_t k = 0; k < nsegs; k++)
		total += segs[k].len;
	fputc('"', f);
	for (size_t k = 0; k < nsegs; k++) {
		const unsigned char *p = segs[k].p;

		for (size_t i = 0; i < segs[k].len; i++, done++) {
			char buf[8];
			size_t n = escape(p[i], after_q, buf);

			if (wrap && width > 0 && width + n > wrap) {
				fprintf(f, "\"\n%s\"", indent);
				width = 0;
				n = escape(p[i], 0, buf);
			}
			fputs(buf, f);
			width += n;
			after_q = buf[n - 1] == '?';
			if (wrap && p[i] == '\n' && done + 1 < total) {
				fprintf(f, "\"\n%s\"", indent);
				width = 0;
				after_q = 0;
			}
		}
	}
	fputc('"', f);
	return ferror(f) ? -EIO : 0;
}

int har_cstr_write(FILE *f, const void *s, size_t len, size_t wrap, const char *indent)
{
	har_cstr_seg seg = { s, len };

	return har_cstr_writev(f, &seg, 1, wrap, indent);
}

int har_cstr_bytes(FILE *f, const void *s, size_t len, const char *indent)
{
	const unsigned char *p = s;

	fputs("{\n", f);
	for (size_t i = 0; i < len; i++) {
		if (i % 12 == 0)
			fputs(indent, f);
		fprintf(f, "0x%02x,", p[i]);
		fputc(i % 12 == 11 || i + 1 == len ? '\n' : ' ', f);
	}
	return ferror(f) ? -EIO : 0;
}

size_t har_cstr_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int har_cstr_is_text(const void *s, size_t len)
{
	const unsigned char *p = s;

	for (size_t i = 0; i < len;) {
		size_t n = har_cstr_utf8_seq(p + i, len - i);

		if (n == 0 || (p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') ||
		    p[i] == 0x7f)
			return 0;
		i += n;
	}
	return 1;
}

void har_cstr_comment(FILE *f, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), out = 0;
	int prev = 0;

	for (size_t i = 0; i < len;) {
		size_t n = har_cstr_utf8_seq(p + i, len - i);
		int c = p[i];

		if (out + (n ? n : 1) > max) {
			fputs("...", f);
			return;
		}
		if (n > 1) {
			fwrite(p + i, 1, n, f);
			out += n;
			i += n;
			prev = 0;
			continue;
		}
		if (n == 0 || c < 0x20 || c == 0x7f)
			c = n == 0 ? '?' : ' ';
		/* No comment end or start, no trigraph. */
		if ((prev == '*' && c == '/') || (prev == '/' && c == '*') ||
		    (prev == '?' && c == '?'))
			fputc(' ', f);
		fputc(c, f);
		prev = c;
		out++;
		i++;
	}
}

void har_cstr_config(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}
