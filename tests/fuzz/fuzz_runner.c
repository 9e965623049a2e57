/*
 * fuzz_runner.c - the runner's message handler (runner.c's on_message)
 * fed what a hostile or buggy controller could send: setup, targets, rows,
 * stop, cancel, and anything else.
 *
 * The input is a conversation: one message per line. "@P@" in a message
 * stands for the scratch folder, which holds a copy of the test plugin, so
 * that a seed's setup can name "@P@/good.so" and get the runner running
 * (journeys, targets and rows are reached only past a good setup). Each
 * message is handed over in a buffer of its exact size, as a transport
 * would; the runner's loop runs one turn after each (so instances start
 * and rows are used), and at the end a cancel lets the runner wind down
 * and say bye. A runner that never does is a hang (-timeout).
 *
 * Everything the runner sends must parse as a protocol message.
 */
#include "core/proto.h"
#include "fuzz.h"
#include "runner/runner.h"

#define FUZZ_MAX_MSGS 64

static uv_loop_t loop;

typedef struct fake {
	transport base;
	int closed;
} fake;

static int fake_send(transport *t, const char *msg, size_t len)
{
	fake *f = (fake *)t;
	char err[256];
	cJSON *m;

	if (f->closed)
		return -EPIPE;
	m = proto_parse(msg, len, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "fuzz: the runner sent a bad message (%s): %.*s\n", err, (int)len,
			msg);
		abort();
	}
	if (log_get_level() >= LOG_LVL_DEBUG)
		fprintf(stderr, "runner> %.*s\n", (int)len, msg);
	cJSON_Delete(m);
	return 0;
}

static void fake_close(transport *t)
{
	((fake *)t)->closed = 1;
}

static const struct transport_ops fake_ops = { .send = fake_send, .close = fake_close };

static void on_done(runner *r, int status, void *data)
{
	(void)r;
	(void)status;
	*(int *)data = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	fuzz_copy_plugin();
	/* A target of ten million instances (the runner's bound) is a valid
	 * message, and 40 GB: fuzz the bound's handling, not the host's RAM. */
	setenv("MITE_INSTANCES_PER_RUNNER", "1000", 1);
	if (uv_loop_init(&loop) != 0)
		abort();
	return 0;
}

/* Hands the runner one message, with "@P@" replaced by the scratch folder,
 * in a buffer of its exact size. */
static void deliver(fake *t, const uint8_t *msg, size_t len)
{
	const char *dir = fuzz_dir();
	size_t dlen = strlen(dir), n = 0, cap = len;
	char *buf;

	for (size_t i = 0; i + 3 <= len; i++)
		if (memcmp(msg + i, "@P@", 3) == 0)
			cap += dlen;
	buf = malloc(cap ? cap : 1);
	if (!buf)
		return;
	for (size_t i = 0; i < len;) {
		if (i + 3 <= len && memcmp(msg + i, "@P@", 3) == 0) {
			memcpy(buf + n, dir, dlen);
			n += dlen;
			i += 3;
		} else {
			buf[n++] = (char)msg[i++];
		}
	}
	/* A closed transport delivers nothing more (transport.h). */
	if (t->base.on_recv && !t->closed)
		t->base.on_recv(&t->base, buf, n, t->base.data);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char cancel[] = "{\"v\":1,\"t\":\"cancel\"}";
	fake *t = calloc(1, sizeof(*t));
	int done = 0, nmsgs = 0;
	runner *r;

	if (!t)
		return 0;
	t->base.ops = &fake_ops;
	r = runner_new(&loop, &t->base, 0, on_done, &done);
	if (!r) {
		free(t);
		return 0;
	}
	for (size_t start = 0; start < size && nmsgs < FUZZ_MAX_MSGS; nmsgs++) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - data) : size;

		deliver(t, data + start, end - start);
		uv_run(&loop, UV_RUN_NOWAIT);
		start = end + 1;
	}
	deliver(t, (const uint8_t *)cancel, sizeof(cancel) - 1);
	while (!done)
		uv_run(&loop, UV_RUN_ONCE);
	runner_free(r);
	/* What runner_free leaves to the loop (instance timers, curl). */
	uv_run(&loop, UV_RUN_NOWAIT);
	free(t);
	return 0;
}
