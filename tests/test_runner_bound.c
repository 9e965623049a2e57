/*
 * test_runner_bound.c - a runner told more than it can hold keeps to what
 * it can and says why in its stats ("why", per journey), instead of
 * starting nothing: over its instance bound, out of memory, out of memory
 * mappings. The test is the controller: it speaks the protocol to one
 * runner over an in-process transport.
 */
#include "testpaths.h"

#include "core/proto.h"
#include "core/transport.h"
#include "runner/runner.h"

#include <criterion/criterion.h>
#include <sys/resource.h>

typedef struct ctl {
	uv_loop_t loop;
	transport *t;
	uv_timer_t timeout;
	long target; /* the "c" sent after ready */
	long then; /* ... and once the first is settled (-1: none) */
	int phase;
	int bye;
	long active; /* from the last stats */
	char why[128]; /* "" for null */
	long settled_active;
	char settled_why[128];
} ctl;

static void send_targets(ctl *c, long n)
{
	cJSON *m = proto_new(PROTO_TARGETS), *j = cJSON_AddArrayToObject(m, "j"),
	      *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "c", (double)n);
	cJSON_AddItemToArray(j, o);
	cr_assert_eq(proto_send(c->t, m), 0);
}

static void send_stop(ctl *c)
{
	cJSON *m = proto_new(PROTO_STOP);

	cJSON_AddNumberToObject(m, "grace", 0);
	proto_send(c->t, m);
}

/* A stats message: takes "active" and "why"; once they stop changing for
 * a few batches, the phase is settled. */
static void on_stats(ctl *c, const cJSON *m)
{
	const cJSON *act = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "active"), 0);
	const cJSON *whyv = cJSON_GetObjectItemCaseSensitive(m, "why");
	const cJSON *why = cJSON_GetArrayItem(whyv, 0);
	static int same;
	char w[128];

	cr_assert(cJSON_IsArray(whyv), "stats without a why array");
	cr_assert_eq(cJSON_GetArraySize(whyv), 1, "one why per journey");
	cr_assert(cJSON_IsNull(why) || cJSON_IsString(why), "why is a string or null");
	snprintf(w, sizeof w, "%s", cJSON_IsString(why) ? why->valuestring : "");
	if (c->phase == 0 || c->bye)
		return;
	if (act && (long)act->valuedouble == c->active && strcmp(w, c->why) == 0)
		same++;
	else
		same = 0;
	c->active = act ? (long)act->valuedouble : -1;
	snprintf(c->why, sizeof c->why, "%s", w);
	if (same < 3)
		return;
	same = 0;
	if (c->phase == 1) {
		c->settled_active = c->active;
		snprintf(c->settled_why, sizeof c->settled_why, "%s", c->why);
		if (c->then >= 0) {
			c->phase = 2;
			send_targets(c, c->then);
			return;
		}
	}
	c->phase = 3;
	send_stop(c);
}

static void on_msg(transport *t, const char *buf, size_t len, void *data)
{
	ctl *c = data;
	char err[256];
	cJSON *m = proto_parse(buf, len, err, sizeof err);
	const char *type;

	(void)t;
	cr_assert_not_null(m, "%s", err);
	type = proto_type(m);
	if (strcmp(type, PROTO_READY) == 0) {
		c->phase = 1;
		send_targets(c, c->target);
	} else if (strcmp(type, PROTO_ERROR) == 0) {
		cr_assert_fail("setup failed: %s",
			       cJSON_GetObjectItemCaseSensitive(m, "error")->valuestring);
	} else if (strcmp(type, PROTO_STATS) == 0) {
		on_stats(c, m);
	} else if (strcmp(type, PROTO_BYE) == 0) {
		/* Everything closes: the loop ends. */
		c->bye = 1;
		uv_close((uv_handle_t *)&c->timeout, NULL);
		transport_close(c->t);
		c->t = NULL;
	}
	cJSON_Delete(m);
}

static void on_done(runner *r, int status, void *data)
{
	(void)status;
	(void)data;
	runner_free(r);
}

static void on_timeout(uv_timer_t *t)
{
	ctl *c = t->data;

	cr_assert_fail("no settled stats in time (phase %d, active %ld, why '%s')", c->phase,
		       c->active, c->why);
}

/* Runs one runner with journey e2e.so:quick sleeping 30 s: targets `first`
 * and then `then` (-1: none). */
static void drive(ctl *c, long first, long then)
{
	char so[PATH_MAX], *text;
	transport *b;
	cJSON *m, *js, *j, *cfg;

	memset(c, 0, sizeof *c);
	c->target = first;
	c->then = then;
	c->active = -1;
	cr_assert_eq(uv_loop_init(&c->loop), 0);
	cr_assert_eq(transport_pair(&c->loop, &c->t, &b), 0);
	c->t->on_recv = on_msg;
	c->t->data = c;
	cr_assert_not_null(runner_new(&c->loop, b, 0, on_done, c));
	m = proto_new(PROTO_SETUP);
	cJSON_AddStringToObject(m, "run", "t");
	cfg = cJSON_AddObjectToObject(m, "config");
	cJSON_AddStringToObject(cfg, "sleep", "30");
	cJSON_AddNumberToObject(m, "tick", 0.1);
	cJSON_AddNumberToObject(m, "stats_interval", 0.05);
	js = cJSON_AddArrayToObject(m, "journeys");
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", "q");
	cJSON_AddStringToObject(j, "module", tp_plugin(so, sizeof so, "e2e"));
	cJSON_AddStringToObject(j, "symbol", "quick");
	cJSON_AddItemToArray(js, j);
	text = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	cr_assert_eq(transport_send(c->t, text, strlen(text)), 0);
	free(text);
	uv_timer_init(&c->loop, &c->timeout);
	c->timeout.data = c;
	uv_timer_start(&c->timeout, on_timeout, 30000, 0);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	cr_assert(c->bye, "the runner never said bye");
	cr_assert_eq(uv_loop_close(&c->loop), 0);
}

Test(runner_bound, over_the_bound_keeps_to_it_and_says_why, .timeout = 60)
{
	ctl c;

	setenv("MITE_INSTANCES_PER_RUNNER", "50", 1);
	drive(&c, 60, 40);
	cr_assert_eq(c.settled_active, 50, "instances: %ld", c.settled_active);
	cr_assert_str_eq(c.settled_why, "instance bound 50 per runner");
	/* Back within the bound: the reason goes (instances above the target
	 * end with their iteration, 30 s away). */
	cr_assert_str_eq(c.why, "");
}

Test(runner_bound, within_the_bound_no_why, .timeout = 60)
{
	ctl c;

	setenv("MITE_INSTANCES_PER_RUNNER", "50", 1);
	drive(&c, 50, -1);
	cr_assert_eq(c.settled_active, 50);
	cr_assert_str_eq(c.settled_why, "");
}

#if defined(__SANITIZE_ADDRESS__)
#define NO_RLIMIT_AS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_RLIMIT_AS 1
#endif
#endif

/* Address space for a few slabs only: the runner starts what fits and
 * says it is out of memory (or out of mappings, when that is the cause). */
static void limited(ctl *c, const char *max_maps)
{
	struct rlimit rl;
	unsigned long vm = 0;
	FILE *f;
	char line[256];

#ifdef NO_RLIMIT_AS
	cr_skip_test("ASan reserves terabytes of address space: no RLIMIT_AS");
#endif
	if (max_maps)
		setenv("MITE_MAX_MAP_COUNT", max_maps, 1);
	cr_assert_not_null(f = fopen("/proc/self/status", "r"));
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmSize: %lu kB", &vm) == 1)
			break;
	fclose(f);
	cr_assert_gt(vm, 0);
	/* 64 MiB more than now: the first slabs, not 100000 stacks. */
	rl.rlim_cur = rl.rlim_max = (vm + 64 * 1024) * 1024;
	cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
	drive(c, 100000, -1);
}

Test(runner_bound, out_of_memory_says_so, .timeout = 60)
{
	ctl c;

	limited(&c, NULL);
	cr_assert_gt(c.settled_active, 0);
	cr_assert_lt(c.settled_active, 100000);
	cr_assert_str_eq(c.settled_why, "out of memory");
}

Test(runner_bound, out_of_mappings_says_so, .timeout = 60)
{
	ctl c;

	/* No mapping left by this (lowered) count: the ENOMEM is the map
	 * count's. */
	limited(&c, "100");
	cr_assert_gt(c.settled_active, 0);
	cr_assert_lt(c.settled_active, 100000);
	cr_assert_str_eq(c.settled_why, "vm.max_map_count 100 reached");
}

/* ---- the message bound ---------------------------------------------------- */

typedef struct sink {
	transport base;
	size_t len, n;
	char head[64];
} sink;

static int sink_send(transport *t, const char *msg, size_t len)
{
	sink *s = (sink *)t;

	s->len = len;
	s->n++;
	snprintf(s->head, sizeof s->head, "%.*s", (int)(len < 63 ? len : 63), msg);
	return 0;
}

static void sink_close(transport *t)
{
	(void)t;
}

static const struct transport_ops sink_ops = { .send = sink_send, .close = sink_close };

/* A stats message made huge by its events goes without them, and says how
 * many; a message over the bound with nothing to shed is refused. */
Test(runner_bound, oversize_message_sheds_its_events, .timeout = 60)
{
	sink s = { .base.ops = &sink_ops };
	size_t big = (size_t)PROTO_MSG_MAX + 1024, shed = 99;
	char *str = malloc(big + 1);
	cJSON *m, *ev;

	cr_assert_not_null(str);
	memset(str, 'x', big);
	str[big] = '\0';
	m = proto_new(PROTO_STATS);
	cJSON_AddNumberToObject(m, "keep", 1);
	ev = cJSON_AddArrayToObject(m, "ev");
	cJSON_AddItemToArray(ev, cJSON_CreateString(str));
	cJSON_AddItemToArray(ev, cJSON_CreateString("small"));
	cr_assert_eq(proto_send_shed(&s.base, m, "ev", &shed), 0);
	cr_assert_eq(shed, 2);
	cr_assert_eq(s.n, 1);
	cr_assert_lt(s.len, 100, "sent %zu bytes", s.len);
	cr_assert_not_null(strstr(s.head, "\"keep\":1"), "%s", s.head);

	/* Small enough: sent whole, nothing shed. */
	m = proto_new(PROTO_STATS);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "ev"), cJSON_CreateString("small"));
	cr_assert_eq(proto_send_shed(&s.base, m, "ev", &shed), 0);
	cr_assert_eq(shed, 0);
	cr_assert_eq(s.n, 2);

	m = proto_new(PROTO_ROWS);
	cJSON_AddStringToObject(m, "huge", str);
	cr_assert_eq(proto_send(&s.base, m), -EMSGSIZE);
	cr_assert_eq(s.n, 2, "an oversize message was sent");
	free(str);
}
