/*
 * test_peers.c - each side of the runner protocol fed what a hostile or
 * buggy peer could send: the controller's run (run.c) by runners, a runner
 * (runner.c) by its controller. Behind fake transports, so that the test
 * sees every message and chooses every byte. These are the reproducers of
 * what tests/fuzz/fuzz_run.c and fuzz_runner.c found.
 */
#include "controller/run.h"
#include "core/proto.h"
#include "core/row.h"
#include "runner/runner.h"
#include "testpaths.h"

#include <criterion/criterion.h>

/* A transport that keeps what is sent on it. */
typedef struct fake {
	transport base;
	cJSON *sent; /* array of the messages, parsed */
	int closed;
} fake;

static int fake_send(transport *t, const char *msg, size_t len)
{
	fake *f = (fake *)t;
	char err[256];
	cJSON *m;

	cr_assert(!f->closed, "sent on a closed transport");
	m = proto_parse(msg, len, err, sizeof err);
	cr_assert_not_null(m, "not a protocol message (%s): %.*s", err, (int)len, msg);
	cJSON_AddItemToArray(f->sent, m);
	return 0;
}

static void fake_close(transport *t)
{
	((fake *)t)->closed = 1;
}

static const struct transport_ops fake_ops = { .send = fake_send, .close = fake_close };

static fake *fake_new(void)
{
	fake *f = calloc(1, sizeof *f);

	cr_assert_not_null(f);
	f->base.ops = &fake_ops;
	f->sent = cJSON_CreateArray();
	return f;
}

static void fake_free(fake *f)
{
	cJSON_Delete(f->sent);
	free(f);
}

/* Hands the side behind f one message, in a buffer of its exact size. */
static void deliver(fake *f, const char *msg)
{
	size_t len = strlen(msg);
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	memcpy(buf, msg, len);
	f->base.on_recv(&f->base, buf, len, f->base.data);
	free(buf);
}

/* The last message of type t that f carried, or NULL. */
static const cJSON *last_sent(const fake *f, const char *type)
{
	const cJSON *found = NULL, *m;

	cJSON_ArrayForEach(m, f->sent) if (strcmp(proto_type(m), type) == 0) found = m;
	return found;
}

/* ---- the controller's run, fed by a runner -------------------------------- */

/* One open journey drawing from a range of a trillion rows. */
static scenario *range_scenario(void)
{
	static const char *const cols[] = { "i" };
	scenario *s = calloc(1, sizeof *s);
	scn_journey *j;
	char err[256];

	cr_assert_not_null(s);
	s->path = strdup("/nonexistent/peers.conf");
	s->dir = strdup("/nonexistent");
	s->name = strdup("peers");
	kvl_init(&s->config);
	s->journeys = j = calloc(1, sizeof *s->journeys);
	s->njourneys = 1;
	j->name = strdup("open");
	j->spec = strdup("good.so:journey");
	j->module_path = strdup("/nonexistent/good.so");
	j->symbol = strdup("journey");
	j->stack_size = 65536;
	j->pool = pool_new_range(POOL_RECYCLABLE, 0, 1000000000000LL, 1, NULL, 0, cols, err,
				 sizeof err);
	j->volume = vmodel_new_arrival(10, 10, 0, 0, err, sizeof err);
	cr_assert(j->pool && j->volume, "%s", err);
	return s;
}

Test(run, garbage_from_a_runner_is_bounded_and_ignored, .timeout = 60)
{
	uv_loop_t loop;
	run_opts o = { .id = "peers" };
	fake *f = fake_new();
	const cJSON *rows;
	char err[256];
	run *r;

	cr_assert_eq(uv_loop_init(&loop), 0);
	r = run_new(&loop, range_scenario(), &o, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(run_add_runner(r, &f->base), 0);
	cr_assert_eq(run_start(r), 0);
	deliver(f, "{\"v\":1,\"t\":\"ready\"}");
	cr_assert_eq(run_get_state(r), RUN_RUNNING);

	/* Asking for a trillion rows used to build a message of all of them
	 * from the range (a hang); now a need gets PROTO_ROWS_MAX at most. A
	 * count that fits no long (1e300) was converted anyway. */
	deliver(f, "{\"v\":1,\"t\":\"need\",\"j\":0,\"n\":1e12}");
	rows = cJSON_GetObjectItemCaseSensitive(last_sent(f, PROTO_ROWS), "rows");
	cr_assert_eq(cJSON_GetArraySize(rows), PROTO_ROWS_MAX);
	deliver(f, "{\"v\":1,\"t\":\"need\",\"j\":0,\"n\":1e300}");
	rows = cJSON_GetObjectItemCaseSensitive(last_sent(f, PROTO_ROWS), "rows");
	cr_assert_eq(cJSON_GetArraySize(rows), PROTO_ROWS_MAX);

	/* Ids, counts and drops that do not fit their integer type (found by
	 * fuzzing: undefined conversions) are ignored. */
	deliver(f, "{\"v\":1,\"t\":\"done\",\"j\":0,\"ids\":[1e300,-1,0.5,\"x\",1e400,3]}");
	deliver(f, "{\"v\":1,\"t\":\"stats\",\"e\":[],\"active\":[1e300],\"dropped\":1e300}");
	cr_assert_eq(run_actual(r, 0), 0);
	deliver(f, "{\"v\":1,\"t\":\"stats\",\"e\":[],\"active\":[7],\"dropped\":2}");
	cr_assert_eq(run_actual(r, 0), 7);
	cr_assert_null(run_error(r));

	run_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	fake_free(f);
}

/* ---- a runner, fed by its controller -------------------------------------- */

static void on_done(runner *r, int status, void *data)
{
	(void)r;
	(void)status;
	*(int *)data = 1;
}

Test(runner, garbage_from_the_controller_is_bounded_and_ignored, .timeout = 60)
{
	char plugin[PATH_MAX], setup[2 * PATH_MAX + 512];
	fake *f = fake_new();
	uv_loop_t loop;
	int done = 0;
	runner *r;

	cr_assert_eq(uv_loop_init(&loop), 0);
	r = runner_new(&loop, &f->base, 0, on_done, &done);
	cr_assert_not_null(r);
	/* Numbers beyond any use (found by fuzzing: converted to integers
	 * anyway, which is undefined) fall back to their defaults. */
	tp_plugin(plugin, sizeof plugin, "good");
	snprintf(
		setup, sizeof setup,
		"{\"v\":1,\"t\":\"setup\",\"tick\":1e300,\"stats_interval\":1e300,\"elapsed\":1e300,"
		"\"journeys\":[{\"name\":\"closed\",\"module\":\"%s\",\"symbol\":\"journey\","
		"\"stack\":1e300,\"pool\":true,\"columns\":[\"a\"]},"
		"{\"name\":\"open\",\"module\":\"%s\",\"symbol\":\"journey\",\"open\":true}]}",
		plugin, plugin);
	deliver(f, setup);
	cr_assert_not_null(last_sent(f, PROTO_READY), "setup refused");
	deliver(f,
		"{\"v\":1,\"t\":\"rows\",\"j\":0,\"rows\":[[-1,\"x\"],[1e300,\"y\"],[1e400,\"z\"]]}");
	/* A trillion starts used to be made one after the other at the stop,
	 * until the runner fell over; a count beyond any runner's means is
	 * now ignored, and pending starts are capped. */
	deliver(f, "{\"v\":1,\"t\":\"targets\",\"j\":[{\"c\":1e300},{\"s\":1e12}]}");
	deliver(f, "{\"v\":1,\"t\":\"stop\",\"grace\":1e300}");
	deliver(f, "{\"v\":1,\"t\":\"cancel\"}");
	while (!done)
		uv_run(&loop, UV_RUN_ONCE);
	cr_assert_not_null(last_sent(f, PROTO_BYE));
	runner_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	fake_free(f);
}

/* The runner's error message, or "". */
static const char *sent_error(const fake *f)
{
	const cJSON *m = last_sent(f, PROTO_ERROR), *e;

	e = m ? cJSON_GetObjectItemCaseSensitive(m, "error") : NULL;
	return cJSON_IsString(e) ? e->valuestring : "";
}

/* A row the runner cannot take whole is an error the run hears of, never
 * cut to fit (a runner used to keep 64 columns of any row). */
Test(runner, a_row_over_the_bounds_is_an_error_not_cut, .timeout = 60)
{
	char plugin[PATH_MAX], setup[PATH_MAX + 512];
	size_t cap = 16 * (ROW_MAX_COLUMNS + 2) + 64, n;
	char *rows = malloc(cap);
	fake *f = fake_new();
	uv_loop_t loop;
	int done = 0;
	runner *r;

	cr_assert_not_null(rows);
	cr_assert_eq(uv_loop_init(&loop), 0);
	r = runner_new(&loop, &f->base, 0, on_done, &done);
	tp_plugin(plugin, sizeof plugin, "good");
	snprintf(setup, sizeof setup,
		 "{\"v\":1,\"t\":\"setup\",\"journeys\":[{\"name\":\"wide\",\"module\":\"%s\","
		 "\"symbol\":\"journey\",\"pool\":true}]}",
		 plugin);
	deliver(f, setup);
	cr_assert_not_null(last_sent(f, PROTO_READY), "setup refused");

	/* 1024 columns: taken. */
	n = (size_t)snprintf(rows, cap, "{\"v\":1,\"t\":\"rows\",\"j\":0,\"rows\":[[0");
	for (int i = 0; i < ROW_MAX_COLUMNS; i++)
		n += (size_t)snprintf(rows + n, cap - n, ",\"c\"");
	snprintf(rows + n, cap - n, "]]}");
	deliver(f, rows);
	cr_assert_str_eq(sent_error(f), "");

	/* 1025: refused, naming the journey and the bound. */
	n = (size_t)snprintf(rows, cap, "{\"v\":1,\"t\":\"rows\",\"j\":0,\"rows\":[[1");
	for (int i = 0; i <= ROW_MAX_COLUMNS; i++)
		n += (size_t)snprintf(rows + n, cap - n, ",\"c\"");
	snprintf(rows + n, cap - n, "]]}");
	deliver(f, rows);
	cr_assert_str_eq(sent_error(f),
			 "journey wide: rows refused: row 1: 1025 columns or more (at most 1024)");

	deliver(f, "{\"v\":1,\"t\":\"rows\",\"j\":0,\"rows\":[[2,\"a\",7]]}");
	cr_assert_str_eq(sent_error(f),
			 "journey wide: rows refused: row 2: column 2 is not a string");

	deliver(f, "{\"v\":1,\"t\":\"cancel\"}");
	while (!done)
		uv_run(&loop, UV_RUN_ONCE);
	runner_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	fake_free(f);
	free(rows);
}
