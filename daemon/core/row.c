/* row.c - datapool rows as journeys see them, and the plugin row builder. */
#include "core/row.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mite_row *row_new(uint64_t id, const char *const *names, const char *const *vals, size_t n)
{
	size_t bytes, head;
	mite_row *row;
	char *p;

	/* One allocation holds the header, the pointer array and the strings,
	 * so that a row costs one malloc and one free however wide it is. */
	if (n > (SIZE_MAX - sizeof(*row)) / sizeof(char *) / 2)
		return NULL;
	head = sizeof(*row) + n * sizeof(char *);
	bytes = head;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(vals && vals[i] ? vals[i] : "") + 1;
		if (bytes > SIZE_MAX - len)
			return NULL;
		bytes += len;
	}
	row = malloc(bytes);
	if (!row)
		return NULL;
	row->id = id;
	row->names = names;
	row->n = n;
	p = (char *)row + head;
	for (size_t i = 0; i < n; i++) {
		/* A missing value reads as an empty string, never as NULL, so
		 * that NULL from row_str keeps meaning "no such column". */
		const char *v = vals && vals[i] ? vals[i] : "";
		size_t len = strlen(v) + 1;
		memcpy(p, v, len);
		row->vals[i] = p;
		p += len;
	}
	return row;
}

void row_free(mite_row *row)
{
	free(row);
}

int row_check(const char *const *vals, size_t n, char *err, size_t errlen)
{
	size_t total = 0;

	if (n > ROW_MAX_COLUMNS) {
		snprintf(err, errlen, "%zu columns (at most %d)", n, ROW_MAX_COLUMNS);
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = vals && vals[i] ? strlen(vals[i]) : 0;

		if (len > ROW_MAX_FIELD) {
			snprintf(err, errlen, "column %zu: value of %zu bytes (at most %d)", i + 1,
				 len, ROW_MAX_FIELD);
			return -E2BIG;
		}
		total += len;
	}
	/* n <= 1024 values of <= 1 MiB: the sum cannot wrap. */
	if (total > ROW_MAX_BYTES) {
		snprintf(err, errlen, "row of %zu bytes (at most %d)", total, ROW_MAX_BYTES);
		return -E2BIG;
	}
	return 0;
}

int row_check_names(const char *const *names, size_t n, char *err, size_t errlen)
{
	if (n > ROW_MAX_COLUMNS) {
		snprintf(err, errlen, "%zu columns (at most %d)", n, ROW_MAX_COLUMNS);
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = names && names[i] ? strlen(names[i]) : 0;

		if (len > ROW_MAX_NAME) {
			snprintf(err, errlen, "column %zu: name of %zu bytes (at most %d)", i + 1,
				 len, ROW_MAX_NAME);
			return -E2BIG;
		}
	}
	return 0;
}

size_t row_count(const mite_row *row)
{
	return row ? row->n : 0;
}

const char *row_str(const mite_row *row, size_t i)
{
	if (!row || i >= row->n)
		return NULL;
	return row->vals[i];
}

int row_index(const mite_row *row, const char *column)
{
	if (!row || !row->names || !column)
		return -1;
	for (size_t i = 0; row->names[i] && i < row->n; i++)
		if (strcmp(row->names[i], column) == 0)
			return (int)i;
	return -1;
}

long long row_int(const mite_row *row, size_t i, long long def)
{
	const char *s = row_str(row, i);
	char *end;
	long long v;

	if (!s || !*s)
		return def;
	/* Base 10 always: data such as "0123" (an account number) must not be
	 * read as octal. */
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return def;
	return v;
}

double row_double(const mite_row *row, size_t i, double def)
{
	const char *s = row_str(row, i);
	char *end;
	double v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtod(s, &end);
	if (*end || (errno == ERANGE && fabs(v) == HUGE_VAL))
		return def;
	return v;
}

uint64_t row_id(const mite_row *row)
{
	return row ? row->id : 0;
}

int row_out_add(struct mite_row_out *out, const char *value)
{
	char *v;

	if (!out || !value)
		return MITE_EINVAL;
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 8;
		char **vals = realloc(out->vals, cap * sizeof(*vals));
		if (!vals)
			return MITE_ENOMEM;
		out->vals = vals;
		out->cap = cap;
	}
	v = strdup(value);
	if (!v)
		return MITE_ENOMEM;
	out->vals[out->n++] = v;
	/* 1, not MITE_OK: a plugin's `next` returns 1 for "produced a row", so
	 * `return mite_row_out_add(out, v);` reads right there. */
	return 1;
}

void row_out_reset(struct mite_row_out *out)
{
	for (size_t i = 0; i < out->n; i++)
		free(out->vals[i]);
	/* The array goes too: a builder that is reset and then dropped must
	 * leave nothing behind, and a regrowth per row costs little. */
	free(out->vals);
	out->vals = NULL;
	out->n = 0;
	out->cap = 0;
}
