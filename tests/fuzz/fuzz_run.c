/*
 * fuzz_run.c - the controller's handler for runner messages (run.c's
 * on_link_message) fed what hostile or buggy runners could send: hello,
 * ready, error, need, done, stats, bye, and anything else.
 *
 * A run is built by hand (no scenario file, no module): three journeys, a
 * closed one with a recyclable inline pool, an open one with an iterable
 * range pool of a trillion rows, and a oneshot one without a pool; two
 * runners behind fake transports. The input is a conversation, one message
 * per line, the line's first byte choosing the runner (its low bit). The
 * run's status, window and verdict are read after every message, as the
 * control socket and reports would; then the run is freed on its loop.
 *
 * Everything the controller sends must parse as a protocol message.
 */
#include "controller/run.h"
#include "core/proto.h"
#include "fuzz.h"

#define FUZZ_MAX_MSGS 64
#define NJOURNEYS 3

static uv_loop_t loop;

typedef struct fake {
	transport base;
	int closed;
} fake;

static int fake_send(transport *t, const char *msg, size_t len)
{
	char err[256];
	cJSON *m;

	if (((fake *)t)->closed) {
		fprintf(stderr, "fuzz: the controller sent on a closed transport\n");
		abort();
	}
	m = proto_parse(msg, len, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "fuzz: the controller sent a bad message (%s): %.*s\n", err,
			(int)len, msg);
		abort();
	}
	if (log_get_level() >= LOG_LVL_DEBUG)
		fprintf(stderr, "controller> %.*s\n", (int)len, msg);
	cJSON_Delete(m);
	return 0;
}

/* Freed by the harness once the run is gone: it may still hold them. */
static void fake_close(transport *t)
{
	((fake *)t)->closed = 1;
}

static const struct transport_ops fake_ops = { .send = fake_send, .close = fake_close };

static void on_event(run *r, const cJSON *ev, void *data)
{
	char *s = cJSON_PrintUnformatted(ev);

	(void)r;
	(void)data;
	free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (uv_loop_init(&loop) != 0)
		abort();
	return 0;
}

static int journey_init(scn_journey *j, const char *name, pool *p, vmodel *v)
{
	j->name = strdup(name);
	j->spec = strdup("good.so:journey");
	j->module_path = strdup("/nonexistent/good.so");
	j->symbol = strdup("journey");
	j->stack_size = 65536;
	j->pool = p;
	j->volume = v;
	j->line = 1;
	return j->name && j->spec && j->module_path && j->symbol && v ? 0 : -1;
}

/* The scenario every input runs; NULL when out of memory. */
static scenario *make_scenario(void)
{
	static const char *const cols[] = { "user", "password" };
	static const char *const vals[] = { "alice", "a1", "bob", "b2", "carol", "c3" };
	static const char *const rcols[] = { "i" };
	scenario *s = calloc(1, sizeof(*s));
	char err[256];

	if (!s)
		return NULL;
	s->path = strdup("/nonexistent/fuzz.conf");
	s->dir = strdup("/nonexistent");
	s->name = strdup("fuzz");
	s->duration = 60;
	kvl_init(&s->config);
	kvl_set(&s->config, "k", "v");
	s->journeys = calloc(NJOURNEYS, sizeof(*s->journeys));
	if (!s->path || !s->dir || !s->name || !s->journeys)
		goto fail;
	s->njourneys = NJOURNEYS;
	if (journey_init(&s->journeys[0], "closed",
			 pool_new_inline(POOL_RECYCLABLE, cols, 2, vals, 3, err, sizeof(err)),
			 vmodel_new_constant(4, 0, err, sizeof(err))) < 0 ||
	    journey_init(&s->journeys[1], "open",
			 pool_new_range(POOL_ITERABLE, 0, 1000000000000LL, 1, NULL, 0, rcols, err,
					sizeof(err)),
			 vmodel_new_arrival(1000, 1000, 0, 0, err, sizeof(err))) < 0 ||
	    journey_init(&s->journeys[2], "once", NULL,
			 vmodel_new_oneshot(3, 0, err, sizeof(err))) < 0)
		goto fail;
	return s;
fail:
	scenario_free(s);
	return NULL;
}

static void look(run *r)
{
	cJSON *st = run_status(r);
	stats w;

	cJSON_Delete(st);
	run_take_window(r, &w);
	stats_free(&w);
	(void)run_failed(r);
	(void)run_error(r);
	for (size_t i = 0; i < NJOURNEYS; i++) {
		(void)run_required(r, i);
		(void)run_actual(r, i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_opts o = { .id = "fuzz", .hooks = { .on_event = on_event } };
	fake *links[2] = { NULL, NULL };
	scenario *s = make_scenario();
	char err[256];
	int nmsgs = 0;
	run *r;

	if (!s)
		return 0;
	r = run_new(&loop, s, &o, err, sizeof(err));
	if (!r)
		return 0;
	for (int i = 0; i < 2; i++) {
		fake *f = calloc(1, sizeof(*f));

		if (!f)
			goto out;
		f->base.ops = &fake_ops;
		if (run_add_runner(r, &f->base) < 0) {
			free(f);
			goto out;
		}
		links[i] = f;
	}
	if (run_start(r) < 0)
		goto out;
	for (size_t start = 0; start < size && nmsgs < FUZZ_MAX_MSGS; nmsgs++) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - data) : size;

		if (end > start) {
			/* A buffer of the message's exact size, as a transport
			 * delivers it. */
			size_t len = end - start - 1;
			char *buf = malloc(len ? len : 1);
			fake *t = links[data[start] & 1];

			if (!buf)
				break;
			memcpy(buf, data + start + 1, len);
			/* A link the run has closed (bye, dropped) hears no more. */
			if (t && !t->closed)
				t->base.on_recv(&t->base, buf, len, t->base.data);
			free(buf);
			look(r);
		}
		start = end + 1;
	}
out:
	run_free(r);
	uv_run(&loop, UV_RUN_NOWAIT);
	free(links[0]);
	free(links[1]);
	return 0;
}
