/* watch.c - following a status stream of mited (see watch.h). */
#include "config.h"

#include "mitectl/watch.h"

#include "controller/results_io.h"
#include "controller/results_view.h"
#include "mitectl/cli.h"
#include "mitectl/view.h"

#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void on_sigint(int sig)
{
	(void)sig;
	client_interrupted = 1;
}

/* One line of progress, for logs (start --wait on a pipe). */
static void progress_line(const cJSON *reply)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(reply, "run"), *j;
	char el[32];
	double req = 0, act = 0, fail = 0;
	cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(r, "journeys"))
	{
		req += results_io_num(j, "required", 0);
		act += results_io_num(j, "actual", 0);
		fail += results_io_num(j, "failed", 0);
	}
	printf("%s %s %s: %.0f/%.0f instances, %.0f failed iterations\n",
	       results_io_str(r, "id", "?"), results_io_str(r, "state", "?"),
	       results_view_dur(el, sizeof(el), results_io_num(r, "elapsed", 0)), act, req, fail);
	fflush(stdout);
}

/* Shows one status object o as the stream goes (see watch_follow). */
static void show(const cJSON *o, int tty, int quiet, time_t *last)
{
	if (cli_json) {
		client_print_json(o);
	} else if (tty) {
		/* Redraw in place. */
		fputs("\033[H\033[J", stdout);
		view_status(stdout, o, 1);
		fflush(stdout);
	} else if (cli_jtrue(o, "final") || !quiet) {
		view_status(stdout, o, !cli_jtrue(o, "final"));
		if (!cli_jtrue(o, "final"))
			fputc('\n', stdout);
		fflush(stdout);
	} else if (time(NULL) - *last >= 10) {
		*last = time(NULL);
		progress_line(o);
	}
}

int watch_follow(client_conn *c, cJSON **final, int quiet)
{
	int tty = isatty(STDOUT_FILENO);
	int rc = 0;
	time_t last = time(NULL);
	*final = NULL;
	struct sigaction sa = { .sa_handler = on_sigint };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	for (;;) {
		cJSON *o = client_recv(c, 30000, &rc);
		if (!o)
			return rc;
		if (!cli_jtrue(o, "ok")) {
			rc = client_reply_error(o, EX_FAILED);
			cJSON_Delete(o);
			return rc;
		}
		show(o, tty, quiet, &last);
		if (cli_jtrue(o, "final")) {
			*final = o;
			return 0;
		}
		cJSON_Delete(o);
	}
}
