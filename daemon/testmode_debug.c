/* testmode_debug.c - see testmode_debug.h. The runner made every string
 * here safe to print and bounded it (core/utf8.h, utf8_printable). */
#include "config.h"

#include "testmode_debug.h"

#include "runner/debug.h"
#include "runner/http.h"
#include "testmode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *str(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));

	return s ? s : "";
}

static const char *str_or(const cJSON *v, const char *def)
{
	const char *s = cJSON_GetStringValue(v);

	return s ? s : def;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Each non-empty line of text, after prefix. */
static void print_lines(FILE *f, const char *prefix, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n)
			fprintf(f, "%s%.*s\n", prefix, (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static void print_cut(FILE *f, const char *prefix, double total, double cap, const char *what)
{
	if (total > cap)
		fprintf(f, "%s(%s: %.0f bytes, the first %.0f shown)\n", prefix, what, total, cap);
}

static void print_body(FILE *f, const cJSON *x, const char *key, const char *nkey, const char *dir)
{
	double n = num(x, nkey);

	if (n <= 0)
		return;
	if (n > HTTP_TRACE_BODY_MAX)
		fprintf(f, "  %s body: %.0f bytes, the first %d shown:\n", dir, n,
			HTTP_TRACE_BODY_MAX);
	else
		fprintf(f, "  %s body: %.0f bytes:\n", dir, n);
	print_lines(f, "    | ", str(x, key));
}

static void print_version(FILE *f, int v)
{
	if (v == 20)
		fputs("HTTP/2", f);
	else
		fprintf(f, "HTTP/%d.%d", v / 10, v % 10);
}

static void print_timings(FILE *f, const cJSON *x)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(x, "timings");

	fprintf(f, "  timings: dns %.6f s, connect %.6f s, tls %.6f s, ttfb %.6f s, total %.6f s",
		num(t, "dns"), num(t, "connect"), num(t, "tls"), num(t, "ttfb"), num(t, "total"));
	if (cJSON_GetObjectItemCaseSensitive(x, "reused"))
		fprintf(f, " (%s connection%s%s)",
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "reused")) ? "reused"
										    : "new",
			*str(x, "primary_ip") ? " to " : "", str(x, "primary_ip"));
	fputc('\n', f);
}

static void print_exchange(FILE *f, const cJSON *x)
{
	fprintf(f, "  request (%s client, made at %s):\n", str(x, "client"), str(x, "at"));
	if (*str(x, "request_head")) {
		print_lines(f, "  > ", str(x, "request_head"));
		print_cut(f, "  > ", num(x, "request_head_bytes"), HTTP_TRACE_HEAD_MAX, "head");
	} else {
		fprintf(f, "  > %s %s\n", str(x, "method"), str(x, "url"));
	}
	print_body(f, x, "request_body", "request_body_bytes", ">");
	if (*str(x, "error")) {
		fprintf(f, "  no response: %s\n", str(x, "error"));
	} else {
		fprintf(f, "  response (from %s):\n  < ", str(x, "effective_url"));
		print_version(f, (int)num(x, "http_version"));
		fprintf(f, " %d\n", (int)num(x, "status"));
		print_lines(f, "  < ", str(x, "response_head"));
		print_cut(f, "  < ", num(x, "response_head_bytes"), HTTP_TRACE_HEAD_MAX, "head");
		if (*str(x, "response_body_note"))
			fprintf(f, "  < body %s: %.0f bytes\n", str(x, "response_body_note"),
				num(x, "bytes_in"));
		print_body(f, x, "response_body", "response_body_bytes", "<");
	}
	print_timings(f, x);
}

static void print_row(FILE *f, const cJSON *row)
{
	const cJSON *c;
	int i = 0;

	if (!row) {
		fputs("row:         none (the journey has no datapool)\n", f);
		return;
	}
	fprintf(f, "row:         id %.0f:", num(row, "id"));
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(row, "columns"))
	{
		const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(c, 0));

		/* Unnamed columns (range, inline, CSV without header): by index. */
		if (name)
			fprintf(f, " %s=", name);
		else
			fprintf(f, " [%d]=", i);
		fprintf(f, "%s", str_or(cJSON_GetArrayItem(c, 1), ""));
		i++;
	}
	if (num(row, "more") > 0)
		fprintf(f, " (and %.0f more columns; the first %d shown)", num(row, "more"),
			DEBUG_ROW_COLUMNS);
	fputc('\n', f);
}

void testmode_debug_failure(FILE *f, const cJSON *ev, unsigned n)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "debug");
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(d, "http");
	const char *loc = str(ev, "location");

	fprintf(f, "\n==== failure %u ====\n", n);
	fprintf(f, "journey:     %s (instance %.0f, iteration %.0f, at %.3f s)\n",
		str(ev, "journey"), num(d, "instance"), num(d, "iteration"), num(ev, "time"));
	fprintf(f, "transaction: %s\n",
		*str(ev, "transaction") ? str(ev, "transaction") : "(none open)");
	/* A journey that returned non-zero without mite_fail has no
	 * file:line: its location is its name. */
	if (strcmp(loc, str(ev, "journey")) != 0)
		fprintf(f, "at:          %s\n", loc);
	else if (x)
		fprintf(f,
			"at:          the journey's return (no mite_fail said where; its last request: %s)\n",
			str(x, "at"));
	else
		fputs("at:          the journey's return (no mite_fail said where)\n", f);
	fprintf(f, "error:       %s\n", str(ev, "message"));
	print_row(f, cJSON_GetObjectItemCaseSensitive(d, "row"));
	if (x) {
		fputs("last HTTP exchange of this iteration:\n", f);
		print_exchange(f, x);
	} else {
		fputs("last HTTP exchange of this iteration: none\n", f);
	}
	fputs("====\n", f);
	fflush(f);
}

void testmode_debug_trace(FILE *f, const cJSON *ev, uint64_t instance)
{
	fprintf(f, "\n---- HTTP trace: instance %llu, journey %s, transaction %s, at %.3f s\n",
		(unsigned long long)instance, str(ev, "journey"),
		*str(ev, "transaction") ? str(ev, "transaction") : "(none open)", num(ev, "time"));
	print_exchange(f, cJSON_GetObjectItemCaseSensitive(ev, "exchange"));
	fflush(f);
}

int testmode_debug_traced(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long pid = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "TracerPid:", 10) == 0) {
			pid = strtol(line + 10, NULL, 10);
			break;
		}
	fclose(f);
	return pid > 0;
}

#define GDB_MAX_SYMBOLS 64

int testmode_debug_gdb(const char *word, int argc, char **argv, const char *const *symbols)
{
	static char self[4096];
	char **av;
	size_t n = 0, nsym = 0;
	ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);

	if (k <= 0 || (size_t)k >= sizeof self - 1) {
		fprintf(stderr, "mitectl: --gdb: cannot find this program (/proc/self/exe): %s\n",
			k < 0 ? strerror(errno) : "path too long");
		return TESTMODE_INTERNAL;
	}
	self[k] = 0;
	while (symbols && symbols[nsym] && nsym < GDB_MAX_SYMBOLS)
		nsym++;
	av = calloc((size_t)argc + 2 * nsym + 16, sizeof *av);
	if (!av) {
		fprintf(stderr, "mitectl: --gdb: out of memory\n");
		return TESTMODE_INTERNAL;
	}
	av[n++] = "gdb";
	av[n++] = "-q";
	/* The journey's module is loaded once the run starts. */
	av[n++] = "-ex";
	av[n++] = "set breakpoint pending on";
	for (size_t i = 0; i < nsym; i++) {
		size_t len = strlen(symbols[i]) + 7;
		char *b = malloc(len);

		if (!b)
			continue;
		snprintf(b, len, "break %s", symbols[i]);
		av[n++] = "-ex";
		av[n++] = b;
	}
	av[n++] = "-ex";
	av[n++] = "run";
	av[n++] = "--args";
	av[n++] = self;
	av[n++] = (char *)word;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--gdb") != 0)
			av[n++] = argv[i];
	av[n] = NULL;
	fflush(NULL);
	execvp("gdb", av);
	fprintf(stderr,
		"mitectl: --gdb: cannot run gdb: %s (install gdb, or see mite-sdk(3), DEBUGGING)\n",
		strerror(errno));
	return TESTMODE_INTERNAL;
}
