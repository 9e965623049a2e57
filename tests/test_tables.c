/*
 * test_tables.c - every table mite prints agrees with summary.json: the
 * text summary (summary.txt, the end of the foreground modes, `mitectl
 * results`) and the run table of `mitectl status` (results_view), rendered
 * from a known summary whose every value differs from every other, so
 * that a column showing its neighbour's value cannot pass.
 */
#include "controller/results_io.h"
#include "controller/results_view.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char known[] =
	"{\"mite_version\":\"0.1.0\",\"run\":{\"id\":\"r1\",\"name\":\"known\",\"scenario\":\"/k.conf\","
	"\"state\":\"done\",\"start\":\"2026-01-01T00:00:00.000Z\",\"end\":\"2026-01-01T00:01:00.000Z\","
	"\"elapsed\":60.5,\"duration\":60,\"scale\":1.5,\"runners\":3,\"runners_wanted\":4,\"restarts\":2,"
	"\"stopped\":{\"early\":true,\"by\":\"mitectl stop\",\"at\":42.5}},"
	"\"verdict\":\"incomplete\",\"verdict_reason\":\"stopped early by mitectl stop at 42.5 s (and 1 more: see "
	"reasons)\",\"reasons\":[{\"verdict\":\"incomplete\",\"reason\":\"stopped early by mitectl stop at 42.5 s\"},"
	"{\"verdict\":\"volume\",\"reason\":\"volume not delivered: journey web\"}],\"warnings\":[\"w-one\"],"
	"\"journeys\":[{\"name\":\"web\",\"model\":\"closed\",\"started\":1001,\"ok\":902,\"failed\":83,"
	"\"cancelled\":7,\"lost\":11,\"volume\":{\"required_mean\":12.3,\"required_max\":14,\"actual_mean\":9.8,"
	"\"actual_max\":13,\"behind_seconds\":17,\"short\":0.2033,\"delivered\":false,\"why\":\"map limit\"}},"
	"{\"name\":\"api\",\"model\":\"open\",\"started\":555,\"ok\":544,\"failed\":6,\"cancelled\":2,\"lost\":3,"
	"\"volume\":{\"required_starts\":600,\"required_rate\":9.9,\"started_rate\":9.2,\"actual_mean\":4.4,"
	"\"actual_max\":8,\"behind_seconds\":5,\"short\":0.075,\"delivered\":true}}],"
	"\"transactions\":[{\"journey\":\"web\",\"name\":\"get\",\"count\":4321,\"failures\":21,\"cancelled\":4,"
	"\"failure_rate\":0.005,\"rate\":71.4,\"min\":0.0011,\"mean\":0.0123,\"p50\":0.0105,\"p90\":0.0207,"
	"\"p95\":0.0309,\"p99\":0.0411,\"p99_9\":0.0513,\"max\":0.0615}],"
	"\"http\":[{\"journey\":\"web\",\"transaction\":\"get\",\"method\":\"GET\",\"status\":\"200\",\"count\":4300,"
	"\"rate\":71.1,\"phases\":{\"total\":{\"count\":4300,\"p50\":0.0101,\"p95\":0.0302,\"p99\":0.0403},"
	"\"dns\":{\"count\":5,\"p95\":0.000204},\"connect\":{\"count\":5,\"p95\":0.000305},\"tls\":{\"count\":5,"
	"\"p95\":0.000406},\"ttfb\":{\"count\":4300,\"p95\":0.0207}}}],"
	"\"http_errors\":[{\"journey\":\"web\",\"transaction\":\"get\",\"method\":\"POST\",\"class\":\"refused\","
	"\"count\":19}],\"errors\":[],\"messages\":[{\"journey\":\"web\",\"type\":\"note\",\"count\":23}],"
	"\"lag\":[{\"journey\":\"api\",\"count\":555,\"p50\":0.000101,\"p95\":0.000202,\"p99\":0.000303,"
	"\"max\":0.000404}],"
	"\"generator\":{\"loop_lag_bound\":0.01,\"loop_lag_share\":0.1,\"runners\":[{\"runner\":\"0\",\"turns\":777,"
	"\"p50\":0.000111,\"p95\":0.000222,\"p99\":0.000333,\"max\":0.000444,\"over_bound_share\":0.0125}],"
	"\"saturated_seconds\":0,\"tainted\":false},"
	"\"events\":{\"logged_to_file\":true,\"logged\":31,\"dropped_log\":0,\"dropped_runners\":0},"
	"\"thresholds\":[],\"files\":{\"dir\":\"/res\",\"on_disk\":false,\"errors\":[\"summary.txt: No space left on "
	"device\"]}}";

/* The whitespace-separated words of the line after the first line that
 * starts with head (after leading spaces), nth such line (0: the first). */
static int row_after(const char *text, const char *head, int nth, char words[][64], int max)
{
	const char *p = text, *line = NULL;
	char buf[1024], *save = NULL;
	int n = 0;

	while (*p) {
		const char *s = p + strspn(p, " ");

		if (strncmp(s, head, strlen(head)) == 0) {
			line = p;
			break;
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	cr_assert_not_null(line, "no table headed '%s' in:\n%s", head, text);
	/* nth < 0: the heading line itself. */
	for (; nth-- >= 0;) {
		line = strchr(line, '\n');
		cr_assert_not_null(line, "table '%s' ends early in:\n%s", head, text);
		line++;
	}
	snprintf(buf, sizeof buf, "%.*s", (int)strcspn(line, "\n"), line);
	for (char *w = strtok_r(buf, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save))
		snprintf(words[n++], 64, "%s", w);
	return n;
}

/* A latency member of o as the tables print it. */
static const char *secs(const cJSON *o, const char *k)
{
	static char b[16][32];
	static int i;

	i = (i + 1) % 16;
	return results_io_secs(b[i], sizeof b[i], o, k);
}

static const cJSON *at(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void expect_row(char w[][64], int n, const char *const *want, int nwant, const char *table)
{
	cr_assert_eq(n, nwant, "%s: %d columns, expected %d", table, n, nwant);
	for (int i = 0; i < nwant; i++)
		cr_assert_str_eq(w[i], want[i], "%s: column %d is '%s', summary.json says '%s'",
				 table, i, w[i], want[i]);
}

static char *render_text(const cJSON *sum)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	results_io_text(f, sum);
	fclose(f);
	return text;
}

Test(tables, the_text_summary_agrees_with_summary_json_in_every_column)
{
	cJSON *sum = cJSON_Parse(known);
	const cJSON *tx = cJSON_GetArrayItem(at(sum, "transactions"), 0);
	const cJSON *ph = at(cJSON_GetArrayItem(at(sum, "http"), 0), "phases");
	const cJSON *lag = cJSON_GetArrayItem(at(sum, "lag"), 0);
	const cJSON *loop = cJSON_GetArrayItem(at(at(sum, "generator"), "runners"), 0);
	char *text, w[32][64];
	int n;

	cr_assert_not_null(sum);
	text = render_text(sum);

	n = row_after(text, "journey ", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "web", "closed", "1001", "902", "83", "7", "11",
					  "12.3/14", "9.8/13", "20.3%", "17s" },
		   11, "journeys (closed)");
	n = row_after(text, "journey ", 1, w, 32);
	expect_row(w, n, (const char *const[]){ "volume", "NOT", "delivered:", "map", "limit" }, 5,
		   "journeys (why)");
	n = row_after(text, "journey ", 2, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "api", "open", "555", "544", "6", "2", "3", "9.9/s",
					  "9.2/s", "7.5%", "5s" },
		   11, "journeys (open)");

	n = row_after(text, "transaction ", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "get", "4321", "21", "4", "71.4", secs(tx, "min"),
					  secs(tx, "mean"), secs(tx, "p50"), secs(tx, "p90"),
					  secs(tx, "p95"), secs(tx, "p99"), secs(tx, "p99_9"),
					  secs(tx, "max") },
		   13, "transactions");
	cr_assert_str_eq(secs(tx, "p99_9"), "51.3ms");

	n = row_after(text, "http (transaction)", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){
			   "get", "GET", "200", "4300", "71.1", secs(at(ph, "total"), "p50"),
			   secs(at(ph, "total"), "p95"), secs(at(ph, "total"), "p99"), "|",
			   secs(at(ph, "dns"), "p95"), secs(at(ph, "connect"), "p95"),
			   secs(at(ph, "tls"), "p95"), secs(at(ph, "ttfb"), "p95") },
		   13, "http");
	/* The bug this guards: connect's p95 printed the total's p50. */
	cr_assert_str_eq(w[10], "305us");

	n = row_after(text, "http errors (transaction)", 0, w, 32);
	expect_row(w, n, (const char *const[]){ "get", "POST", "refused", "19" }, 4, "http errors");
	n = row_after(text, "messages (journey)", 0, w, 32);
	expect_row(w, n, (const char *const[]){ "web", "note", "23" }, 3, "messages");
	n = row_after(text, "scheduling lag (journey)", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "api", "555", secs(lag, "p50"), secs(lag, "p95"),
					  secs(lag, "p99"), secs(lag, "max") },
		   6, "scheduling lag");
	n = row_after(text, "loop lag ", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "runner", "0", "777", secs(loop, "p50"),
					  secs(loop, "p95"), secs(loop, "p99"), secs(loop, "max"),
					  "1.2%" },
		   8, "loop lag");

	cr_assert_not_null(strstr(text, "stopped   by mitectl stop at 42.5 s, before its end\n"));
	cr_assert_not_null(
		strstr(text, "results NOT written: summary.txt: No space left on device"));
	cr_assert_not_null(strstr(text, "this summary is NOT on disk in /res"));
	cr_assert_not_null(strstr(text, "\nwarning: w-one\n"));
	cr_assert_not_null(strstr(text, "  incomplete stopped early by mitectl stop at 42.5 s\n"));
	cr_assert_not_null(strstr(text, "  volume     volume not delivered: journey web\n"));
	cr_assert_not_null(strstr(
		text,
		"\nverdict: incomplete (stopped early by mitectl stop at 42.5 s (and 1 more: see "
		"reasons))\n"));
	free(text);
	cJSON_Delete(sum);
}

static char *render_view(const cJSON *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	results_view_run(f, o, &(results_view_opts){ 0 });
	fclose(f);
	return text;
}

Test(tables, the_run_table_agrees_with_summary_json_in_every_column)
{
	cJSON *sum = cJSON_Parse(known);
	const cJSON *tx = cJSON_GetArrayItem(at(sum, "transactions"), 0);
	const cJSON *loop = cJSON_GetArrayItem(at(at(sum, "generator"), "runners"), 0);
	char *text, w[32][64], lag[64];
	int n;

	text = render_view(sum);
	n = row_after(text, "run r1", -1, w, 32);
	cr_assert_str_eq(w[0], "run");
	cr_assert_str_eq(w[1], "r1");
	cr_assert_str_eq(w[2], "known");
	cr_assert_str_eq(w[3], "done");
	cr_assert_str_eq(w[5], "1m00s"); /* elapsed 60.5 */
	cr_assert_str_eq(w[7], "1m00s"); /* duration 60 */
	cr_assert_str_eq(w[9], "150%");
	cr_assert_str_eq(w[11], "3/4");
	cr_assert_str_eq(w[13], "2");
	cr_assert_eq(n, 14);

	n = row_after(text, "journey ", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "web", "12.3", "9.8", "1001", "902", "83", "7", "20%",
					  "17s" },
		   9, "view journeys (closed)");
	n = row_after(text, "journey ", 1, w, 32);
	expect_row(w, n, (const char *const[]){ "short:", "map", "limit" }, 3,
		   "view journeys (why)");
	n = row_after(text, "journey ", 2, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "api", "9.9/s", "9.2/s", "555", "544", "6", "2", "8%",
					  "5s" },
		   9, "view journeys (open)");
	n = row_after(text, "transaction ", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "web", "::", "get", "4321", "71.4", "21", secs(tx, "p50"),
					  secs(tx, "p95"), secs(tx, "p99") },
		   9, "view transactions");
	snprintf(lag, sizeof lag, "%s/%s", secs(loop, "p99"), secs(loop, "max"));
	cr_assert_not_null(strstr(text, lag), "loop lag %s not in:\n%s", lag, text);
	cr_assert_not_null(
		strstr(text, "verdict: incomplete (stopped early by mitectl stop at 42.5 s"));
	cr_assert_not_null(strstr(text, "  - volume: volume not delivered: journey web\n"));
	cr_assert_not_null(strstr(text, "stopped by mitectl stop at 42.5 s, before its end\n"));
	cr_assert_not_null(strstr(text, "the summary is NOT on disk"));
	free(text);
	cJSON_Delete(sum);
}

Test(tables, the_live_run_table_agrees_with_the_status_in_every_column)
{
	cJSON *st = cJSON_Parse(
		"{\"id\":\"r2\",\"name\":\"live\",\"state\":\"running\",\"elapsed\":12.5,\"duration\":30,\"scale\":1,"
		"\"runners\":2,\"runners_wanted\":2,\"verdict_now\":\"volume\",\"verdict_reason\":\"volume not "
		"delivered: x\",\"reasons\":[{\"verdict\":\"volume\",\"reason\":\"volume not delivered: x\"}],"
		"\"loop_lag\":[{\"runner\":1,\"p99\":0.000321,\"max\":0.000654}],\"loop_lag_bound\":0.01,"
		"\"journeys\":[{\"name\":\"web\",\"required\":40,\"actual\":31,\"started\":812,\"ok\":790,\"failed\":9,"
		"\"cancelled\":0,\"volume\":{\"short\":0.225,\"behind_seconds\":6,\"delivered\":false,\"why\":\"out of "
		"memory\"}}],"
		"\"transactions\":[{\"journey\":\"web\",\"name\":\"get\",\"count\":777,\"failed\":5,\"rate\":62.2,"
		"\"p50\":0.0123,\"p95\":0.0456,\"p99\":0.0789}]}");
	char *text, w[32][64];
	int n;

	text = render_view(st);
	cr_assert_not_null(strstr(text, "verdict so far: volume (volume not delivered: x)"), "%s",
			   text);
	n = row_after(text, "journey ", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "web", "40", "31", "812", "790", "9", "0", "22%", "6s" },
		   9, "live journeys");
	n = row_after(text, "journey ", 1, w, 32);
	expect_row(w, n, (const char *const[]){ "short:", "out", "of", "memory" }, 4, "live why");
	n = row_after(text, "transaction ", 0, w, 32);
	expect_row(w, n,
		   (const char *const[]){ "web", "::", "get", "777", "62.2", "5", "12.3ms",
					  "45.6ms", "78.9ms" },
		   9, "live transactions");
	cr_assert_not_null(strstr(text, "runner 1: 321us/654us"), "%s", text);
	free(text);
	cJSON_Delete(st);
}
