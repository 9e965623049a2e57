/*
 * har_cstr.h - text from a HAR file made safe for the C source and the
 * scenario file the converter writes: C string literals that give back
 * exactly the bytes they were made from whatever those are (quotes,
 * backslashes, line breaks, NULs, trigraphs, non-ASCII), comments that
 * cannot end early, libconfig strings, and UTF-8 checks for names.
 */
#ifndef MITE_HAR_CSTR_H
#define MITE_HAR_CSTR_H

#include <stddef.h>
#include <stdio.h>

/*
 * Writes s[0..len) to f as one C string literal, "..." (an empty one for
 * len 0). Printable ASCII stays as it is, except '"' and '\' (escaped) and
 * a '?' after a '?' (written \? so that no trigraph forms); \n, \r and \t
 * are written so; every other byte as a three-digit octal escape, which
 * can never take a following digit in. When wrap is not 0 the literal is
 * split into pieces of at most wrap characters of source each, on lines of
 * their own starting with indent, after each "\n" of the text and wherever
 * a piece is full (never inside an escape). Returns 0, or -EIO when f
 * fails.
 */
int har_cstr_write(FILE *f, const void *s, size_t len, size_t wrap, const char *indent);

/* The same for the bytes of several pieces one after the other, as one
 * literal. */
typedef struct har_cstr_seg {
	const void *p;
	size_t len;
} har_cstr_seg;

int har_cstr_writev(FILE *f, const har_cstr_seg *segs, size_t nsegs, size_t wrap,
		    const char *indent);

/* Writes s[0..len) as the initialiser of an unsigned char array: "{",
 * then 12 bytes to a line ("0x89, 0x50, ..."), each line starting with
 * indent; the caller writes the closing "}" (indented as it likes). len
 * must be > 0. Returns 0 or -EIO. */
int har_cstr_bytes(FILE *f, const void *s, size_t len, const char *indent);

/* Writes s as text inside a C comment: printable ASCII and valid UTF-8 as
 * they are, other bytes as '?', and nothing that ends or opens a comment
 * ("* /" and "/ *" get a space) or forms a trigraph ("??" becomes "? ?"),
 * at most max bytes ("..." after a cut). */
void har_cstr_comment(FILE *f, const char *s, size_t max);

/* Writes s to f as a libconfig string, "..." with \" \\ and \xNN escapes
 * for control bytes. */
void har_cstr_config(FILE *f, const char *s);

/* The length of the valid UTF-8 sequence at s (at most len bytes), or 0
 * when there is none there (a bad byte, a truncated or overlong sequence,
 * a surrogate). */
size_t har_cstr_utf8_seq(const unsigned char *s, size_t len);

/* Non-zero when s[0..len) is UTF-8 text: valid, and without control bytes
 * other than tab, CR and LF. */
int har_cstr_is_text(const void *s, size_t len);

#endif
