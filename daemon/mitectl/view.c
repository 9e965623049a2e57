/* view.c - runs and the daemon's status as tables (see view.h). */
#include "config.h"

#include "mitectl/view.h"

#include "controller/results_io.h"
#include "controller/results_view.h"
#include "mitectl/cli.h"

#include <string.h>

/* Transaction counts seen at the previous frame, for live tx/s. */
typedef struct prev_counts {
	char key[256];
	double count;
	double at;
} prev_counts;

/* Transactions past this many show their run's average. */
static prev_counts prev[512];
static size_t nprev;

static double live_rate(const cJSON *t, double elapsed, void *data)
{
	const char *journey = results_io_str(t, "journey", ""),
		   *name = results_io_str(t, "name", "");
	double count = results_io_num(t, "count", 0), avg = results_io_num(t, "rate", 0);
	char key[256];
	(void)data;
	snprintf(key, sizeof(key), "%s\x1f%s", journey, name);
	for (size_t i = 0; i < nprev; i++) {
		if (strcmp(prev[i].key, key) != 0)
			continue;
		double dt = elapsed - prev[i].at;
		double rate = dt > 0.05 ? (count - prev[i].count) / dt : avg;
		if (dt > 0.05) {
			prev[i].count = count;
			prev[i].at = elapsed;
		}
		return rate;
	}
	if (nprev < sizeof(prev) / sizeof(prev[0])) {
		snprintf(prev[nprev].key, sizeof(prev[nprev].key), "%s", key);
		prev[nprev].count = count;
		prev[nprev].at = elapsed;
		nprev++;
	}
	return avg;
}

void view_run(FILE *f, const cJSON *r, int live)
{
	results_view_opts o = { .color = cli_color, .rate = live ? live_rate : NULL };
	results_view_run(f, r, &o);
}

void view_status(FILE *f, const cJSON *reply, int live)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(reply, "run");
	if (r) {
		view_run(f, r, live);
		return;
	}
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(reply, "daemon");
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(reply, "runs"), *it;
	char up[32];
	fprintf(f, "mited %s (pid %.0f), up %s, %d active run%s%s\n",
		results_io_str(d, "version", "?"), results_io_num(d, "pid", 0),
		results_view_dur(up, sizeof(up), results_io_num(d, "uptime", 0)),
		cJSON_GetArraySize(runs), cJSON_GetArraySize(runs) == 1 ? "" : "s",
		cli_jtrue(d, "stopping") ? ", shutting down" : "");
	cJSON_ArrayForEach(it, runs)
	{
		fputc('\n', f);
		view_run(f, it, live);
	}
}
