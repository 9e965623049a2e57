/* test_utf8.c - the one rule for text that goes out as JSON (core/utf8.h). */
#include "core/utf8.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define R UTF8_REPLACEMENT

static void repaired_is(const char *in, size_t n, const char *want)
{
	size_t len = 0;
	char *out = utf8_repair(in, n, &len);

	cr_assert_not_null(out);
	cr_assert_eq(len, strlen(want), "length %zu, want %zu", len, strlen(want));
	cr_assert(memcmp(out, want, len) == 0, "repaired '%s', want '%s'", out, want);
	cr_assert(utf8_valid(out, len));
	free(out);
}

Test(utf8, well_formed_passes)
{
	const char *ok[] = { "",
			     "plain ascii",
			     "caf\xc3\xa9",
			     "\xe2\x82\xac euro",
			     "\xf0\x9f\x98\x80",
			     "\xef\xbf\xbd",
			     "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
			     "\xed\x9f\xbf" /* U+D7FF */ };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert(utf8_valid(ok[i], strlen(ok[i])), "'%s' should be valid", ok[i]);
		repaired_is(ok[i], strlen(ok[i]), ok[i]);
	}
}

Test(utf8, malformed_bytes_are_replaced_one_by_one)
{
	/* A stray continuation byte, a lone lead byte, a truncated sequence
	 * at the end, 0xff. */
	repaired_is("a\x80z", 3, "a" R "z");
	repaired_is("a\xc3z", 3, "a" R "z");
	repaired_is("ab\xe2\x82", 4, "ab" R R);
	repaired_is("\xff", 1, R);
	/* Overlong encodings of '/' and NUL. */
	repaired_is("\xc0\xaf", 2, R R);
	repaired_is("\xe0\x80\xaf", 3, R R R);
	repaired_is("\xc1\xbf", 2, R R);
	/* A UTF-16 surrogate (U+D800) and a code point past U+10FFFF. */
	repaired_is("\xed\xa0\x80", 3, R R R);
	repaired_is("\xf4\x90\x80\x80", 4, R R R R);
	repaired_is("\xf5\x80\x80\x80", 4, R R R R);
	cr_assert_not(utf8_valid("\xed\xa0\x80", 3));
	cr_assert_not(utf8_valid("x\xc3", 2));
}

Test(utf8, fix_keeps_good_strings_and_replaces_bad_ones)
{
	char *good = strdup("caf\xc3\xa9");
	char *bad = strdup("name\xfe\xff");
	char *g = utf8_fix(good);
	char *b = utf8_fix(bad);

	cr_assert_eq(g, good, "a well-formed string is returned as is");
	cr_assert_str_eq(b, "name" R R);
	free(g);
	free(b);
	cr_assert_null(utf8_fix(NULL));
}

Test(utf8, cut_never_splits_a_character)
{
	const char *s = "ab\xe2\x82\xac"
			"cd"; /* a b EURO c d: 7 bytes */

	cr_assert_eq(utf8_cut(s, 7, 100), 7);
	cr_assert_eq(utf8_cut(s, 7, 7), 7);
	cr_assert_eq(utf8_cut(s, 7, 2), 2);
	cr_assert_eq(utf8_cut(s, 7, 3), 2, "the euro sign is not cut");
	cr_assert_eq(utf8_cut(s, 7, 4), 2);
	cr_assert_eq(utf8_cut(s, 7, 5), 5);
	/* Malformed bytes count one each. */
	cr_assert_eq(utf8_cut("\xff\xff\xff", 3, 2), 2);
	cr_assert_eq(utf8_cut("", 0, 0), 0);
}

Test(utf8, seq_len_needs_the_whole_sequence)
{
	cr_assert_eq(utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
	cr_assert_eq(utf8_seq_len("\xf0\x9f\x98\x80", 3), 0);
	cr_assert_eq(utf8_seq_len("a", 1), 1);
	cr_assert_eq(utf8_seq_len("a", 0), 0);
}

Test(utf8, printable_escapes_controls_and_cuts_between_characters)
{
	char out[64];
	/* ESC [ 3 1 m, NUL, CR LF, a C1 CSI (U+009B), a stray byte, TAB, euro */
	const char s[] = "a\033[31m\0b\r\nc\xc2\x9b"
			 "d\xff\te\xe2\x82\xac";
	size_t n = sizeof s - 1;

	cr_assert_eq(utf8_printable(out, sizeof out, s, n, 100), n);
	cr_assert_str_eq(out, "a\\x1b[31m\\x00b\nc\\x9bd" R "\te\xe2\x82\xac");
	/* At most max bytes of s, never half a character. */
	cr_assert_eq(utf8_printable(out, sizeof out, "ab\xe2\x82\xac", 5, 3), 2);
	cr_assert_str_eq(out, "ab");
	/* A lone CR stays visible; CR before LF goes. */
	utf8_printable(out, sizeof out, "x\ry", 3, 10);
	cr_assert_str_eq(out, "x\\x0dy");
	/* A buffer too small stops early, NUL-terminated. */
	cr_assert_lt(utf8_printable(out, 12, "\001\002\003\004\005", 5, 5), 5);
	cr_assert_lt(strlen(out), 12);
	cr_assert_eq(utf8_printable(out, 0, "abc", 3, 3), 0);
}
