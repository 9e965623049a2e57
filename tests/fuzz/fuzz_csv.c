/*
 * fuzz_csv.c - CSV datapools (pool_new_csv) on any file. The first input
 * byte picks the mode, whether the first record is a header, and whether
 * the scenario names the columns; the rest is the file.
 *
 * A pool that loads must hand out every row it counted, each as wide as
 * its columns; one that does not must say why in one line, located
 * "path:LINE: " when the fault is inside the file.
 */
#include "controller/pool.h"
#include "core/row.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void drain(pool *p)
{
	size_t n = pool_size(p), ncols = 0, got = 0;
	const char *const *cols = pool_columns(p);
	char err[256];

	if (cols)
		while (cols[ncols])
			ncols++;
	(void)pool_describe(p);
	for (size_t i = 0; i < n + 2; i++) {
		mite_row *row = NULL;
		int rc = pool_checkout(p, &row, err, sizeof(err));

		if (rc != POOL_ROW)
			break;
		if (cols && row->n != ncols) {
			fprintf(stderr, "fuzz: a row of %zu values under %zu columns\n", row->n,
				ncols);
			abort();
		}
		for (size_t k = 0; k < row->n; k++)
			(void)strlen(row->vals[k]);
		got++;
		if (pool_get_mode(p) == POOL_RECYCLABLE && i % 2)
			pool_checkin(p, row->id);
		row_free(row);
	}
	if (pool_get_mode(p) == POOL_ITERABLE && got != n) {
		fprintf(stderr, "fuzz: an iterable pool of %zu rows gave %zu\n", n, got);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "a", "b", "c" };
	char path[PATH_MAX], err[512] = "";
	pool_mode mode;
	int header, in_file = -1;
	size_t ncols;
	pool *p;

	if (size < 1)
		return 0;
	mode = (pool_mode)(data[0] % 3);
	header = (data[0] >> 2) & 1;
	ncols = (data[0] >> 3) & 3; /* 0: columns NULL */
	fuzz_write(path, sizeof(path), "data.csv", data + 1, size - 1);
	p = pool_new_csv(mode, path, header, ncols ? names : NULL, ncols, err, sizeof(err),
			 &in_file);
	if (!p) {
		fuzz_check_error("pool_new_csv", err, data + 1, size - 1);
		if (in_file && strncmp(err, path, strlen(path)) != 0) {
			fprintf(stderr, "fuzz: an error inside the file without its location: %s\n",
				err);
			abort();
		}
		return 0;
	}
	drain(p);
	pool_free(p);
	return 0;
}
