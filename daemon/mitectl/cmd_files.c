/* cmd_files.c - results, cat and report (see cmd_files.h). */
#include "config.h"

#include "mitectl/cmd_files.h"

#include "controller/report_html.h"
#include "controller/results_io.h"
#include "mitectl/cli.h"
#include "mitectl/client.h"
#include "mitectl/view.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int results_summary_json; /* results --json: the summary alone */

/* The "results" reply for people: the summary, verdict, and where. */
static void print_results(const cJSON *reply)
{
	const char *text = results_io_str(reply, "text", NULL);
	const char *v = results_io_str(reply, "verdict", NULL);
	if (results_summary_json) {
		const cJSON *sum = cJSON_GetObjectItemCaseSensitive(reply, "summary");
		char *s = cJSON_Print(sum ? sum : reply);
		if (s)
			puts(s);
		free(s);
		return;
	}
	if (text && *text) {
		/* The summary text ends with its verdict line. */
		fputs(text, stdout);
		v = NULL;
	} else {
		const cJSON *sum = cJSON_GetObjectItemCaseSensitive(reply, "summary");
		if (sum)
			view_run(stdout, sum, 0);
	}
	if (v)
		printf("verdict: %s%s%s\n", strcmp(v, "passed") == 0 ? C_GREEN : C_RED, v, C_RESET);
	else if (!cli_jtrue(reply, "done"))
		printf("(the run is not done yet)\n");
	const char *res = results_io_str(reply, "results", NULL);
	int lost = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(reply, "on_disk"));
	if (res)
		printf("results: %s%s\n", res, lost ? " (the summary is NOT there)" : "");
	if (lost)
		fprintf(stderr,
			"mitectl: the summary of run %s is not on disk (%s); mited keeps it in memory "
			"until it forgets the run\n",
			results_io_str(reply, "run", "?"),
			results_io_str(reply, "not_written", "?"));
}

/* Whether arg names a results folder here rather than a run of mited. */
static int is_folder(const char *arg)
{
	struct stat st;
	return strchr(arg, '/') || (stat(arg, &st) == 0 && S_ISDIR(st.st_mode));
}

/* results FOLDER: its summary.json, as text or JSON. */
static int folder_results(const char *dir)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	if (snprintf(path, sizeof(path), "%s/summary.json", dir) >= (int)sizeof(path)) {
		cli_die("%s: path too long", dir);
		return EX_FAILED;
	}
	cJSON *sum = results_io_load_json(path, err, sizeof(err));
	if (!sum) {
		cli_die("%s", err);
		return EX_FAILED;
	}
	if (results_summary_json || cli_json) {
		char *s = cJSON_Print(sum);
		if (s)
			puts(s);
		free(s);
	} else {
		results_io_text(stdout, sum);
	}
	cJSON_Delete(sum);
	return EX_OK_;
}

int cmd_files_results(int argc, char **argv)
{
	const char *run = NULL;
	if (cli_help_requested(argc, argv, CMD_FILES_RESULTS_SYNOPSIS, CMD_FILES_RESULTS_HELP))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			results_summary_json = 1;
		else if (argv[i][0] == '-')
			return cli_usage_error(CMD_FILES_RESULTS_SYNOPSIS, "unknown option '%s'",
					       argv[i]);
		else if (!run)
			run = argv[i];
		else
			return cli_usage_error(CMD_FILES_RESULTS_SYNOPSIS,
					       "unexpected argument '%s'", argv[i]);
	}
	if (!run)
		return cli_usage_error(CMD_FILES_RESULTS_SYNOPSIS,
				       "expected one RUN (or a results folder)");
	if (is_folder(run))
		return folder_results(run);
	/* One shape for a run's results: with --json before or after the
	 * command, the summary (summary.json's object), as for a folder. */
	results_summary_json |= cli_json;
	client_conn c;
	int rc;
	cJSON *reply = client_request(&c, client_req("results", run), &rc);
	client_close(&c);
	if (!reply)
		return rc;
	rc = cli_jtrue(reply, "ok") ? (print_results(reply), EX_OK_)
				    : client_reply_error(reply, EX_FAILED);
	cJSON_Delete(reply);
	return rc;
}

/* The results folder of run id, asked of mited, into dir; with done, only
 * once the run is over (report). 0, or an exit status (the error said). */
static int run_results_dir(const char *id, int done, char *dir, size_t len)
{
	client_conn c;
	int rc = EX_FAILED;
	cJSON *reply = client_request(&c, client_req("results", id), &rc);
	client_close(&c);
	if (!reply)
		return rc;
	const char *res = results_io_str(reply, "results", NULL);
	if (!cli_jtrue(reply, "ok"))
		rc = client_reply_error(reply, EX_FAILED);
	else if (done && (!res || !cli_jtrue(reply, "done")))
		cli_die("run %s has no results yet (%s)", id,
			res ? "not done" : "no results folder");
	else if (!res)
		cli_die("run %s has no results folder", id);
	else if (snprintf(dir, len, "%s", res) >= (int)len)
		cli_die("run %s: results path too long", id);
	else
		rc = EX_OK_;
	cJSON_Delete(reply);
	return rc;
}

/* A cat argument: a file or folder here, "-", or the id of one of mited's
 * runs (its results folder). */
static int cat_one(const char *arg, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc;

	if (strcmp(arg, "-") == 0 || strchr(arg, '/') || stat(arg, &st) == 0)
		return results_io_cat(arg, stdout, cli_color, err, errlen) < 0 ? EX_FAILED : EX_OK_;
	if ((rc = run_results_dir(arg, 0, dir, sizeof(dir))) != EX_OK_)
		return rc;
	return results_io_cat(dir, stdout, cli_color, err, errlen) < 0 ? EX_FAILED : EX_OK_;
}

int cmd_files_cat(int argc, char **argv)
{
	char err[PATH_MAX + 256];
	int status = EX_OK_;
	if (cli_help_requested(argc, argv, CMD_FILES_CAT_SYNOPSIS, CMD_FILES_CAT_HELP))
		return EX_OK_;
	if (argc < 2)
		return cli_usage_error(
			CMD_FILES_CAT_SYNOPSIS,
			"which event log? (events.jsonl, a results folder, a RUN, or - for stdin)");
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(CMD_FILES_CAT_SYNOPSIS, "unknown option '%s'",
					       argv[i]);
	}
	for (int i = 1; i < argc; i++) {
		int rc;
		err[0] = '\0';
		if ((rc = cat_one(argv[i], err, sizeof(err))) != EX_OK_) {
			if (err[0])
				cli_die("%s", err);
			status = rc;
		}
	}
	fflush(stdout);
	return status;
}

/* The report of the results in dir into out ("-": stdout); an exit
 * status. A file half written is removed. */
static int report_write(const char *dir, const char *out)
{
	char err[PATH_MAX + 256];
	FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "we");
	if (!f) {
		cli_die("%s: %s", out, strerror(errno));
		return EX_FAILED;
	}
	int rc = report_html_write(dir, f, err, sizeof(err));
	if (f != stdout && fclose(f) != 0 && !rc) {
		snprintf(err, sizeof(err), "%s: %s", out, strerror(errno));
		rc = -EIO;
	}
	if (rc < 0) {
		cli_die("%s", err);
		if (f != stdout)
			unlink(out);
		return EX_FAILED;
	}
	return EX_OK_;
}

int cmd_files_report(int argc, char **argv)
{
	const char *run = NULL, *out = NULL;
	char dir[PATH_MAX];
	if (cli_help_requested(argc, argv, CMD_FILES_REPORT_SYNOPSIS, CMD_FILES_REPORT_HELP))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) &&
		    i + 1 < argc)
			out = argv[++i];
		else if (strncmp(argv[i], "--output=", 9) == 0)
			out = argv[i] + 9;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(CMD_FILES_REPORT_SYNOPSIS, "unknown option '%s'",
					       argv[i]);
		else if (!run)
			run = argv[i];
		else
			return cli_usage_error(CMD_FILES_REPORT_SYNOPSIS,
					       "unexpected argument '%s'", argv[i]);
	}
	if (!run)
		return cli_usage_error(CMD_FILES_REPORT_SYNOPSIS,
				       "expected one RUN (or a results folder)");
	if (!out || !*out)
		return cli_usage_error(CMD_FILES_REPORT_SYNOPSIS,
				       "where to? -o FILE.html (- for standard output)");
	if (is_folder(run)) {
		snprintf(dir, sizeof(dir), "%s", run);
	} else {
		/* The daemon knows where the run's results are. */
		int rc = run_results_dir(run, 1, dir, sizeof(dir));
		if (rc)
			return rc;
	}
	return report_write(dir, out);
}
