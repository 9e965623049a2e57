/*
 * fuzz_scenario.c - scenario_load on any file text.
 *
 * The file is written as s.conf into a scratch folder that also holds a
 * copy of the test plugin (good.so), a CSV (users.csv) and an include file
 * (v.inc), so that seeds taken from tests/scenarios/ resolve their modules
 * and the fuzzer gets past them into datapools, volume models and
 * thresholds. A scenario that loads has its built-in pools drained a
 * little and its built-in models evaluated over a few windows; plugin
 * pools and models are left alone (they run module code).
 *
 * Checks the promise: a refused file earns a non-empty one-line reason
 * that starts with a file name and line ("file:line: ...").
 */
#include "controller/scenario.h"
#include "core/row.h"
#include "fuzz.h"

static char conf_path[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char csv[] = "user,password\nalice,a1\nbob,\"b,2\"\n";
	static const char inc[] = "volume = { type = \"constant\"; count = 2; };\n";
	char p[PATH_MAX];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	fuzz_copy_plugin();
	fuzz_write(p, sizeof(p), "users.csv", csv, sizeof(csv) - 1);
	fuzz_write(p, sizeof(p), "v.inc", inc, sizeof(inc) - 1);
	fuzz_path(conf_path, sizeof(conf_path), "s.conf");
	return 0;
}

static void exercise(scenario *s)
{
	char err[256];

	for (size_t i = 0; i < s->njourneys; i++) {
		scn_journey *j = &s->journeys[i];

		if (j->pool && !j->pool_mod) {
			for (int k = 0; k < 4; k++) {
				mite_row *row = NULL;

				if (pool_checkout(j->pool, &row, err, sizeof(err)) != POOL_ROW)
					break;
				row_free(row);
			}
			(void)pool_describe(j->pool);
		}
		if (j->volume && !j->volume_mod) {
			static const double t[] = { 0, 0.1, 1, 59.9, 60, 3600, 1e6 };

			for (size_t k = 0; k + 1 < sizeof(t) / sizeof(t[0]); k++)
				(void)vmodel_eval(j->volume, t[k], t[k + 1]);
			(void)vmodel_describe(j->volume);
			(void)vmodel_end(j->volume);
			(void)vmodel_peak(j->volume);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scenario_opts o = { .api = NULL };
	char p[PATH_MAX], err[1024] = "";
	scenario *s;

	fuzz_write(p, sizeof(p), "s.conf", data, size);
	s = scenario_load(conf_path, &o, err, sizeof(err));
	if (log_get_level() >= LOG_LVL_DEBUG)
		fprintf(stderr, "scenario: %s\n", s ? "loaded" : err);
	if (!s) {
		const char *colon = strchr(err, ':');

		fuzz_check_error("scenario_load", err, data, size);
		/* "file:line: " - the file is ours or one it includes. */
		if (!colon || colon == err || colon[1] < '0' || colon[1] > '9') {
			fprintf(stderr, "fuzz: scenario error without file:line: %s\n", err);
			abort();
		}
		return 0;
	}
	exercise(s);
	scenario_free(s);
	return 0;
}
