/*
 * utf8.h - one rule for text from outside that reaches JSON or the metrics
 * exposition: bytes that are not well-formed UTF-8 (stray continuation
 * bytes, truncated or overlong sequences, surrogates, code points past
 * U+10FFFF) are each replaced by U+FFFD, and text cut to a limit is cut
 * between characters, never inside one.
 *
 * JSON parsers that follow RFC 8259 (Python's json, browsers, jq) refuse
 * such bytes, and cJSON passes them through untouched: every JSON document
 * mited writes (control replies, events.jsonl, timeline.jsonl,
 * summary.json) and every message from a runner goes through utf8_fix.
 */
#ifndef MITE_CORE_UTF8_H
#define MITE_CORE_UTF8_H

#include <stddef.h>

/* The UTF-8 encoding of U+FFFD, the replacement character. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"

/* Bytes of the well-formed sequence at s (1 to 4), or 0 when the bytes
 * there (n of them available) do not start one. */
size_t utf8_seq_len(const char *s, size_t n);
/* Non-zero when s[0..n) is well-formed UTF-8 throughout. */
int utf8_valid(const char *s, size_t n);
/* A malloc'ed, NUL-terminated copy of s[0..n) with every byte that does
 * not belong to a well-formed sequence replaced by U+FFFD; its length in
 * *outlen (may be NULL). NULL on ENOMEM. */
char *utf8_repair(const char *s, size_t n, size_t *outlen);
/* For a malloc'ed string s that goes out as is: s itself when it is
 * well-formed, else a repaired copy (s is freed). NULL on ENOMEM (s is
 * freed too). */
char *utf8_fix(char *s);
/* How many bytes of s[0..n) to keep so that at most max remain and no
 * character is cut (a malformed byte counts as one character). */
size_t utf8_cut(const char *s, size_t n, size_t max);
/* Writes into out (cap bytes, always NUL-terminated) at most max bytes of
 * s[0..n) as text safe to print on a terminal: cut between characters,
 * malformed bytes as U+FFFD, C0 and C1 control characters but \n and \t
 * as \xNN (a \r before \n dropped). cap = 4 * max + 16 always holds the
 * whole of it. Returns the bytes of s it took. */
size_t utf8_printable(char *out, size_t cap, const char *s, size_t n, size_t max);

#endif
