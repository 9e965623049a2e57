/* parse.c - a start request's scenario, parsed off the loop (see parse.h). */
#include "config.h"

#include "mited/parse.h"

#include "core/util.h"
#include "runner/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void parse_job_free(parse_job *j)
{
	scenario_free(j->s);
	free(j->path);
	free(j->name);
	util_strv_free(j->sets);
	util_strv_free(j->env);
	util_strv_free(j->plugin_dirs);
	free(j);
}

/* On a thread of the pool: touches nothing of the daemon's but the cancel
 * flag. */
void parse_work(uv_work_t *w)
{
	parse_job *j = w->data;
	struct stat st;
	/* A FIFO or a device would block (or feed) the parse forever. */
	if (stat(j->path, &st) != 0) {
		snprintf(j->err, sizeof(j->err), "%s: %s", j->path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(j->err, sizeof(j->err), "%s: not a regular file", j->path);
		return;
	}
	scenario_opts so = {
		.sets = (const char *const *)j->sets,
		.env = (const char *const *)j->env,
		.plugin_dirs = (const char *const *)j->plugin_dirs,
		.allow_any_path = j->allow_any,
		.api = runner_api(),
		.duration_override = j->duration,
		.cancel = &j->d->cancel_parses,
	};
	j->s = scenario_load(j->path, &so, j->err, sizeof(j->err));
}
