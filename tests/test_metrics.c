/*
 * test_metrics.c - the Prometheus endpoint: the exposition text parsed
 * back (HELP and TYPE before samples, one declaration per family, integer
 * counters, monotonic histogram buckets ending at _count, label escaping
 * of \ " and newline, UTF-8), its counts against the run's, and the server
 * (status codes, a garbage request, a slow client and its timeout).
 */
#include "controller/metrics.h"
#include "controller/run.h"
#include "controller/scenario.h"
#include "runner/runner.h"
#include "testmode.h"
#include "testpaths.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <sys/socket.h>
#include <time.h>

/* Checks that report only when they fail: Criterion sends every passing
 * cr_assert to its runner process, and the parser makes thousands. */
#define EXPECT(cond, ...)                            \
	do {                                         \
		if (!(cond))                         \
			cr_assert_fail(__VA_ARGS__); \
	} while (0)

/* ---- a parser for the text format ---------------------------------------- */

#define MAX_SAMPLES 4096
#define MAX_FAMILIES 64

typedef struct sample {
	char name[128];
	char labels[8][2][512]; /* name, unescaped value */
	int nlabels;
	char value[64];
} sample;

typedef struct family {
	char name[128];
	char type[16];
	int help, samples;
} family;

typedef struct expo {
	sample *s;
	int n;
	family f[MAX_FAMILIES];
	int nf;
} expo;

static family *fam_find(expo *x, const char *name)
{
	for (int i = 0; i < x->nf; i++)
		if (strcmp(x->f[i].name, name) == 0)
			return &x->f[i];
	return NULL;
}

/* The family a sample belongs to (histograms: without the suffix). */
static family *fam_of(expo *x, const char *name)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	family *f = fam_find(x, name);
	char base[128];

	if (f)
		return f;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(name), k = strlen(sfx[i]);

		if (n > k && strcmp(name + n - k, sfx[i]) == 0) {
			snprintf(base, sizeof base, "%.*s", (int)(n - k), name);
			f = fam_find(x, base);
			if (f && strcmp(f->type, "histogram") == 0)
				return f;
		}
	}
	return NULL;
}

/* Parses text strictly; fails the test on anything out of format. */
static void parse_expo(const char *text, expo *x)
{
	const char *p = text;
	int lineno = 0;
	regex_t name_re;

	EXPECT((regcomp(&name_re, "^[a-zA-Z_:][a-zA-Z0-9_:]*$", REG_EXTENDED | REG_NOSUB)) == (0),
	       "not equal");
	memset(x, 0, sizeof *x);
	x->s = calloc(MAX_SAMPLES, sizeof *x->s);
	while (*p) {
		const char *nl = strchr(p, '\n');
		char line[8192];
		size_t len;

		EXPECT((nl) != NULL, "the text must end with a newline");
		len = (size_t)(nl - p);
		EXPECT((len) < (sizeof line), "not less");
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		lineno++;
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			char name[128], rest[512];
			family *f;

			EXPECT((sscanf(line + 7, "%127s %511[^\n]", name, rest)) == (2),
			       "line %d: %s", lineno, line);
			EXPECT((regexec(&name_re, name, 0, NULL, 0)) == (0),
			       "line %d: bad name '%s'", lineno, name);
			f = fam_find(x, name);
			if (!f) {
				EXPECT((x->nf) < (MAX_FAMILIES), "not less");
				f = &x->f[x->nf++];
				snprintf(f->name, sizeof f->name, "%s", name);
			}
			EXPECT((f->samples) == (0), "line %d: %s declared after its samples",
			       lineno, name);
			if (line[2] == 'H') {
				EXPECT((f->help) == (0), "line %d: two HELP lines for %s", lineno,
				       name);
				f->help = 1;
			} else {
				EXPECT(!*(f->type), "line %d: two TYPE lines for %s", lineno, name);
				EXPECT(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0 ||
					       strcmp(rest, "histogram") == 0,
				       "line %d: type %s", lineno, rest);
				snprintf(f->type, sizeof f->type, "%.15s", rest);
			}
			continue;
		}
		EXPECT((line[0]) != ('#'), "line %d: a comment that is neither HELP nor TYPE",
		       lineno);
		EXPECT((line[0]) != ('\0'), "line %d: empty", lineno);
		{
			sample *s = &x->s[x->n];
			char *q = line, *brace = strchr(line, '{');
			family *f;

			EXPECT((x->n) < (MAX_SAMPLES), "not less");
			EXPECT((brace) != NULL, "line %d: no labels: %s", lineno, line);
			snprintf(s->name, sizeof s->name, "%.*s", (int)(brace - line), line);
			EXPECT((regexec(&name_re, s->name, 0, NULL, 0)) == (0), "line %d", lineno);
			q = brace + 1;
			while (*q != '}') {
				char *eq = strchr(q, '=');
				size_t vn = 0;

				EXPECT((eq) != NULL, "line %d", lineno);
				EXPECT((s->nlabels) < (8), "not less");
				snprintf(s->labels[s->nlabels][0], 512, "%.*s", (int)(eq - q), q);
				EXPECT((eq[1]) == ('"'), "line %d: label value not quoted", lineno);
				q = eq + 2;
				while (*q != '"') {
					char c = *q++;

					EXPECT((c) != ('\0'), "line %d: open label value", lineno);
					if (c == '\\') {
						c = *q++;
						EXPECT(c == '\\' || c == '"' || c == 'n',
						       "line %d: bad escape \\%c", lineno, c);
						if (c == 'n')
							c = '\n';
					}
					EXPECT((vn) < (511), "not less");
					s->labels[s->nlabels][1][vn++] = c;
				}
				s->labels[s->nlabels][1][vn] = '\0';
				s->nlabels++;
				q++;
				if (*q == ',')
					q++;
				else
					EXPECT((*q) == ('}'), "line %d: after a label: '%c'",
					       lineno, *q);
			}
			EXPECT((q[1]) == (' '), "line %d: one space before the value", lineno);
			EXPECT((q[2]) != (' '), "line %d: one space before the value", lineno);
			snprintf(s->value, sizeof s->value, "%s", q + 2);
			f = fam_of(x, s->name);
			EXPECT((f) != NULL, "line %d: %s has no HELP/TYPE before it", lineno,
			       s->name);
			EXPECT(f->help && f->type[0], "line %d: %s lacks HELP or TYPE", lineno,
			       s->name);
			f->samples++;
			if (strcmp(f->type, "counter") == 0 ||
			    (strcmp(f->type, "histogram") == 0 &&
			     strcmp(s->name + strlen(s->name) - 4, "_sum") != 0)) {
				EXPECT((strspn(s->value, "0123456789")) == (strlen(s->value)),
				       "line %d: %s must be an integer: '%s'", lineno, s->name,
				       s->value);
			} else {
				char *end;

				strtod(s->value, &end);
				EXPECT(*s->value && !*end, "line %d: value '%s'", lineno, s->value);
			}
			x->n++;
		}
	}
	regfree(&name_re);
}

static const char *label(const sample *s, const char *name)
{
	for (int i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i][0], name) == 0)
			return s->labels[i][1];
	return NULL;
}

/* The sum of the samples of `name` whose labels include k=v (NULL: any). */
static double total(const expo *x, const char *name, const char *k, const char *v)
{
	double sum = 0;

	for (int i = 0; i < x->n; i++) {
		const char *lv = k ? label(&x->s[i], k) : NULL;

		if (strcmp(x->s[i].name, name) == 0 && (!k || (lv && strcmp(lv, v) == 0)))
			sum += strtod(x->s[i].value, NULL);
	}
	return sum;
}

/* Buckets of each histogram series rise and end at _count. */
static void check_histograms(const expo *x)
{
	for (int i = 0; i < x->n; i++) {
		const sample *s = &x->s[i];
		size_t n = strlen(s->name);
		double prev = 0;
		int k = i;

		if (n < 7 || strcmp(s->name + n - 7, "_bucket") != 0 ||
		    (i && strcmp(x->s[i - 1].name, s->name) == 0))
			continue;
		for (; k < x->n && strcmp(x->s[k].name, s->name) == 0 &&
		     strcmp(label(&x->s[k], "le"), "+Inf") != 0;
		     k++) {
			double v = strtod(x->s[k].value, NULL);

			EXPECT((v) >= (prev), "%s: buckets go down", s->name);
			prev = v;
		}
		EXPECT((k) < (x->n), "not less");
		EXPECT((strtod(x->s[k].value, NULL)) >= (prev), "less");
		/* +Inf, _sum, _count */
		EXPECT(strstr(x->s[k + 2].name, "_count"), "%s", x->s[k + 2].name);
		EXPECT(strcmp(x->s[k].value, x->s[k + 2].value) == 0, "+Inf must equal _count");
	}
}

/* ---- rendering a real run ------------------------------------------------ */

typedef struct seen {
	char *text;
	uint64_t quick_ok, weird_failed, notes, errors;
} seen;

static void inspect(run *r, void *data)
{
	seen *s = data;
	metrics_run mr = { .r = r, .runners_wanted = 1 };
	const char *ql[] = { "q", "quick" }, *wl[] = { "w", "say \"hi\" \\ there" },
		   *nl[] = { "s", "note" };
	const stats_entry *e;
	size_t len = 0;

	s->text = metrics_render(&mr, 1, &len);
	cr_assert_not_null(s->text);
	cr_assert_eq(strlen(s->text), len);
	if ((e = stats_find(run_totals(r), "txn", ql, 2)))
		s->quick_ok = e->c[ST_TXN_OK];
	if ((e = stats_find(run_totals(r), "txn", wl, 2)))
		s->weird_failed = e->c[ST_TXN_FAILED];
	if ((e = stats_find(run_totals(r), "send", nl, 2)))
		s->notes = e->c[0];
	for (e = run_totals(r)->first; e; e = e->order)
		if (strcmp(e->kind, "error") == 0)
			s->errors += e->c[0];
}

Test(metrics, exposition_parses_back_and_counts_agree, .timeout = 60)
{
	char dir[PATH_MAX], path[PATH_MAX], e2e[PATH_MAX], res[PATH_MAX], body[3 * PATH_MAX + 1024],
		err[1024];
	scenario_opts so = { .allow_any_path = 1 };
	seen sn = { 0 };
	scenario *s;
	expo x;
	int found = 0;

	so.api = runner_api();
	tp_mkdtemp(dir, sizeof dir);
	tp_plugin(e2e, sizeof e2e, "e2e");
	tp_plugin(res, sizeof res, "results");
	snprintf(
		body, sizeof body,
		"name = \"m \\\"t\\\"\"; duration = 2;\nconfig = { sleep = \"0.01\"; };\njourneys = (\n"
		" { name = \"q\"; journey = \"%s:quick\"; volume = { type = \"constant\"; count = 2; }; },\n"
		" { name = \"w\"; journey = \"%s:weird\"; volume = { type = \"constant\"; count = 1; }; },\n"
		" { name = \"s\"; journey = \"%s:sender\"; volume = { type = \"constant\"; count = 1; }; }\n);\n"
		"thresholds = ( { metric = \"txn:quick\"; stat = \"p95\"; max = 1; } );\n",
		e2e, res, res);
	tp_write(tp_join(path, sizeof path, dir, "s.conf"), body);
	s = scenario_load(path, &so, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	testmode_execute(
		s, &(testmode_opts){ .quiet = 1, .grace = 0.5, .inspect = inspect, .data = &sn });
	parse_expo(sn.text, &x);
	check_histograms(&x);

	/* The original's families, with their types. */
	cr_assert_str_eq(fam_find(&x, "mite_transaction_total")->type, "counter");
	cr_assert_str_eq(fam_find(&x, "mite_journey_error_total")->type, "counter");
	cr_assert_str_eq(fam_find(&x, "mite_http_response_total")->type, "counter");
	cr_assert_str_eq(fam_find(&x, "mite_http_response_time_seconds")->type, "histogram");
	cr_assert_str_eq(fam_find(&x, "mite_required_count")->type, "gauge");
	cr_assert_str_eq(fam_find(&x, "mite_actual_count")->type, "gauge");
	cr_assert_str_eq(fam_find(&x, "mite_runner_count")->type, "gauge");
	cr_assert_not_null(fam_find(&x, "mite_http_phase_seconds"));
	cr_assert_not_null(fam_find(&x, "mite_scheduling_lag_seconds"));
	cr_assert_not_null(fam_find(&x, "mite_http_response_bytes_total"));
	/* The judgement. Without its results object the run is judged on the
	 * run alone: weird fails every iteration and nothing else judges
	 * journey errors, so the run failed. */
	cr_assert_str_eq(fam_find(&x, "mite_run_verdict")->type, "gauge");
	cr_assert_str_eq(fam_find(&x, "mite_run_problem")->type, "gauge");
	cr_assert_str_eq(fam_find(&x, "mite_volume_short_ratio")->type, "gauge");
	cr_assert_str_eq(fam_find(&x, "mite_volume_behind_seconds")->type, "gauge");
	cr_assert_str_eq(fam_find(&x, "mite_volume_shortfall_info")->type, "gauge");
	cr_assert_str_eq(fam_find(&x, "mite_runner_loop_lag_seconds")->type, "histogram");
	cr_assert_str_eq(fam_find(&x, "mite_journey_cancelled_total")->type, "counter");
	cr_assert_str_eq(fam_find(&x, "mite_journey_lost_total")->type, "counter");
	cr_assert_float_eq(total(&x, "mite_run_verdict", "verdict", "failed"), 1, 0.5);
	cr_assert_float_eq(total(&x, "mite_run_problem", "problem", "failed"), 1, 0.5);
	cr_assert_float_eq(total(&x, "mite_run_problem", NULL, NULL), 1, 0.5);
	cr_assert_float_eq(total(&x, "mite_volume_short_ratio", NULL, NULL), 0, 0.001);
	cr_assert_gt(total(&x, "mite_runner_loop_lag_seconds_count", "runner", "0"), 10);

	/* Counts agree with the run's stats. */
	cr_assert_gt(sn.quick_ok, 10);
	cr_assert_float_eq(total(&x, "mite_transaction_total", "transaction", "quick"),
			   (double)sn.quick_ok, 0.5);
	cr_assert_float_eq(
		total(&x, "mite_transaction_duration_seconds_count", "transaction", "quick"),
		(double)sn.quick_ok, 0.5);
	cr_assert_float_eq(total(&x, "mite_message_total", "type", "note"), (double)sn.notes, 0.5);
	cr_assert_float_eq(total(&x, "mite_journey_error_total", NULL, NULL), (double)sn.errors,
			   0.5);
	cr_assert_float_eq(total(&x, "mite_threshold_broken", NULL, NULL), 0, 0.5);

	/* Escaping: the names come back exactly, and bytes that are not UTF-8
	 * come back as U+FFFD. */
	for (int i = 0; i < x.n; i++) {
		const sample *sm = &x.s[i];

		if (strcmp(sm->name, "mite_journey_error_total") != 0 ||
		    strcmp(label(sm, "journey"), "w") != 0)
			continue;
		cr_assert_str_eq(label(sm, "test"), "m \"t\"");
		cr_assert_str_eq(label(sm, "transaction"), "say \"hi\" \\ there");
		cr_assert_str_eq(label(sm, "message"),
				 "bad \"quote\" \\ back\nslash \xef\xbf\xbd end");
		cr_assert_str_eq(label(sm, "ex_type"), "MiteError");
		cr_assert_float_eq(strtod(sm->value, NULL), (double)sn.weird_failed, 0.5);
		found++;
	}
	cr_assert_eq(found, 1);
	for (int i = 0; i < x.n; i++)
		if (strcmp(x.s[i].name, "mite_transaction_total") == 0)
			cr_assert(strcmp(label(&x.s[i], "had_error"), "True") == 0 ||
				  strcmp(label(&x.s[i], "had_error"), "False") == 0);
	free(x.s);
	free(sn.text);
	tp_rmrf(dir);
}

/* ---- the server ---------------------------------------------------------- */

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s",
		     strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

/* Sends req and reads the whole reply (the server closes: HTTP/1.0). */
static char *http(int port, const char *req)
{
	int fd = connect_to(port);
	char *buf = calloc(1, 1 << 16);
	size_t n = 0;
	ssize_t r;

	/* The server may answer and close before it read everything. */
	(void)send(fd, req, strlen(req), MSG_NOSIGNAL);
	while (n < (1 << 16) - 1 && (r = recv(fd, buf + n, (1 << 16) - 1 - n, 0)) > 0)
		n += (size_t)r;
	close(fd);
	return buf;
}

static int status_of(const char *reply)
{
	int st = 0;

	sscanf(reply, "HTTP/1.%*d %d", &st);
	return st;
}

/* No .timeout here: every socket call is bounded by SO_RCVTIMEO (5 s), and
 * with two concurrent .timeout tests libcriterion 2.4 leaks a timer record
 * that LeakSanitizer then reports (the sanitizer build's check fails). */
Test(metrics, server_answers_and_survives_garbage_and_slow_clients)
{
	char err[256], *r;
	metrics *m;
	int port, slow;
	struct timespec t0, t1;
	char c;

	cr_assert_null(metrics_new("127.0.0.1", 0, 0, err, sizeof err));
	cr_assert_str_eq(err, "'127.0.0.1': no port (expected ADDR:PORT, e.g. 127.0.0.1:9301)");
	cr_assert_null(metrics_new("300.1.1.1:80", 0, 0, err, sizeof err));
	cr_assert_str_eq(err, "'300.1.1.1' is not an IPv4 address (or localhost)");
	m = metrics_new("127.0.0.1:0", 1, 0, err, sizeof err);
	cr_assert_not_null(m, "%s", err);
	port = metrics_port(m);
	cr_assert_gt(port, 0);
	{
		char *t = strdup("# HELP x An x.\n# TYPE x counter\nx{a=\"b\"} 1\n");

		metrics_publish(m, t, strlen(t));
	}

	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert_eq(status_of(r), 200, "%s", r);
	cr_assert_not_null(strstr(r, "text/plain; version=0.0.4"));
	cr_assert_not_null(strstr(r, "\r\n\r\n# HELP x An x.\n# TYPE x counter\nx{a=\"b\"} 1\n"));
	free(r);
	r = http(port, "GET /nothing HTTP/1.0\r\n\r\n");
	cr_assert_eq(status_of(r), 404);
	free(r);
	r = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
	cr_assert_eq(status_of(r), 405);
	free(r);

	/* Garbage: an error or a closed connection, and the server goes on. */
	r = http(port, "\x01\x02 GARBAGE \xff\xfe\r\n\r\n");
	cr_assert(status_of(r) == 0 || status_of(r) >= 400, "%s", r);
	free(r);
	{
		char big[40000];

		memset(big, 'a', sizeof big);
		memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
		memcpy(big + sizeof big - 5, "\r\n\r\n", 5);
		r = http(port, big);
		cr_assert(status_of(r) == 0 || status_of(r) >= 400, "an oversized header: %.60s",
			  r);
		free(r);
	}

	/* A slow client holds a connection, not the server. */
	slow = connect_to(port);
	cr_assert_eq(send(slow, "GET /met", 8, MSG_NOSIGNAL), 8);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert_eq(status_of(r), 200);
	free(r);
	/* ... and is dropped at the timeout (1 s here). */
	cr_assert_leq(recv(slow, &c, 1, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt((double)(t1.tv_sec - t0.tv_sec), 3.5);
	close(slow);

	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert_eq(status_of(r), 200);
	free(r);
	metrics_free(m);
}

/* A client that sends a byte every 0.5 s never lets the idle timeout (2 s)
 * fire: the request deadline (3 s here) ends it; the server goes on. */
Test(metrics, request_deadline_ends_a_trickling_client)
{
	static const char req[] =
		"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
	char err[256], c, buf[4096];
	struct timespec t0, t1;
	metrics *m = metrics_new("127.0.0.1:0", 2, 3, err, sizeof err);
	int port, slow, ka, closed = 0;
	size_t i;

	cr_assert_not_null(m, "%s", err);
	port = metrics_port(m);
	{
		char *t = strdup("x 1\n");

		metrics_publish(m, t, strlen(t));
	}
	slow = connect_to(port);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < sizeof(req) - 1; i++) {
		if (send(slow, req + i, 1, MSG_NOSIGNAL) != 1) {
			closed = 1;
			break;
		}
		usleep(500000);
		struct pollfd p = { .fd = slow, .events = POLLIN };
		if (poll(&p, 1, 0) == 1 && recv(slow, &c, 1, MSG_DONTWAIT) <= 0) {
			closed = 1;
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert(closed, "a client trickling a byte every 0.5 s was kept for %zu bytes", i);
	cr_assert_geq((double)(t1.tv_sec - t0.tv_sec), 2.0, "cut before its deadline");
	cr_assert_lt((double)(t1.tv_sec - t0.tv_sec), 8.0, "cut long after its deadline (3 s)");
	close(slow);

	/* A request made in time meanwhile, and after, is answered. */
	ka = connect_to(port);
	{
		static const char get[] = "GET /metrics HTTP/1.0\r\n\r\n";
		ssize_t n;

		cr_assert_eq(send(ka, get, sizeof(get) - 1, MSG_NOSIGNAL),
			     (ssize_t)(sizeof(get) - 1));
		n = recv(ka, buf, sizeof(buf) - 1, 0);
		cr_assert_gt(n, 0);
		buf[n] = '\0';
		cr_assert_eq(status_of(buf), 200, "%s", buf);
	}
	close(ka);
	metrics_free(m);
}
