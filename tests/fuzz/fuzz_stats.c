/*
 * fuzz_stats.c - a runner's stats message from a hostile or buggy peer:
 * proto_parse, then stats_merge_batch (and through it hist_merge_json) into
 * the controller's table, as run_link.c does with a "stats" message's "e".
 *
 * Besides "no crash", it checks what the controller relies on: whatever a
 * merge accepted re-encodes (stats_batch) into a batch that merges again,
 * with the same counts, and every histogram stays internally consistent.
 */
#include "core/hist.h"
#include "core/proto.h"
#include "core/stats.h"
#include "fuzz.h"

/* Counts from 2^53 on are not exact in JSON (doubles): leave them out of
 * the round-trip check, as hist.h documents. */
#define EXACT_LIMIT (UINT64_C(1) << 53)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static int exact(const stats *s)
{
	for (const stats_entry *e = s->first; e; e = e->order) {
		for (int i = 0; i < STATS_NCOUNTERS; i++)
			if (e->c[i] >= EXACT_LIMIT)
				return 0;
		for (int i = 0; i < STATS_NHISTS; i++)
			if (e->h[i] &&
			    (hist_count(e->h[i]) >= EXACT_LIMIT ||
			     hist_max(e->h[i]) >= EXACT_LIMIT))
				return 0;
	}
	return 1;
}

/* A histogram's summary must agree with itself whatever was merged. */
static void check_hist(const hist *h)
{
	if (!hist_count(h))
		return;
	if (hist_min(h) > hist_max(h) || hist_percentile(h, 0) != hist_min(h) ||
	    hist_percentile(h, 100) != hist_max(h) || hist_percentile(h, 50) < hist_min(h) ||
	    hist_percentile(h, 50) > hist_max(h) ||
	    hist_count_le(h, hist_max(h)) != hist_count(h)) {
		fprintf(stderr, "fuzz: inconsistent histogram after a merge\n");
		abort();
	}
}

static void round_trip(stats *s)
{
	stats again;
	cJSON *batch;

	for (const stats_entry *e = s->first; e; e = e->order)
		for (int i = 0; i < STATS_NHISTS; i++)
			if (e->h[i])
				check_hist(e->h[i]);
	if (!exact(s))
		return;
	batch = stats_batch(s, 0);
	if (!batch)
		return; /* out of memory */
	stats_init(&again);
	if (stats_merge_batch(&again, batch) != 0) {
		char *txt = cJSON_PrintUnformatted(batch);

		fprintf(stderr, "fuzz: a batch made by stats_batch does not merge: %.2000s\n",
			txt ? txt : "?");
		abort();
	}
	for (const stats_entry *e = s->first; e; e = e->order) {
		const stats_entry *f;

		/* Entries without a count or histogram are not dirty-worthy
		 * but still encoded: all of them must come back. */
		f = stats_find(&again, e->kind, (const char *const *)e->labels, e->nlabels);
		if (!f || memcmp(f->c, e->c, sizeof e->c) != 0) {
			fprintf(stderr, "fuzz: entry '%s' did not come back the same\n", e->kind);
			abort();
		}
		for (int i = 0; i < STATS_NHISTS; i++) {
			uint64_t n = e->h[i] ? hist_count(e->h[i]) : 0;
			uint64_t m = f->h[i] ? hist_count(f->h[i]) : 0;

			if (n != m ||
			    (n &&
			     (hist_min(e->h[i]) != hist_min(f->h[i]) ||
			      hist_max(e->h[i]) != hist_max(f->h[i])))) {
				fprintf(stderr,
					"fuzz: histogram %d of '%s' did not come back the same\n",
					i, e->kind);
				abort();
			}
		}
	}
	stats_free(&again);
	cJSON_Delete(batch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	cJSON *m = proto_parse((const char *)data, size, err, sizeof(err));
	stats totals;
	const cJSON *e;

	if (!m) {
		fuzz_check_error("proto_parse", err, data, size);
		/* Not a message: the bytes may still be a bare batch or
		 * histogram, which is what the layers below must survive. */
		m = cJSON_ParseWithLength((const char *)data, size);
		if (!m)
			return 0;
		e = m;
	} else {
		(void)proto_type(m);
		e = cJSON_GetObjectItemCaseSensitive(m, "e");
	}

	stats_init(&totals);
	/* Twice, as run_link.c merges into the totals and the window: a second
	 * merge into existing entries takes the other path. */
	if (stats_merge_batch(&totals, e) == 0)
		stats_merge_batch(&totals, e);
	round_trip(&totals);
	stats_free(&totals);

	/* The histogram decoder on its own, for a bare encoding. */
	if (cJSON_IsObject(e)) {
		hist *h = hist_new();

		if (h && hist_merge_json(h, e) == 0) {
			check_hist(h);
			if (hist_count(h) < EXACT_LIMIT && hist_max(h) < EXACT_LIMIT) {
				cJSON *j = hist_to_json(h);
				hist *g = hist_new();

				if (j && g && hist_merge_json(g, j) != 0) {
					fprintf(stderr,
						"fuzz: hist_to_json output does not merge\n");
					abort();
				}
				hist_free(g);
				cJSON_Delete(j);
			}
		}
		hist_free(h);
	}
	cJSON_Delete(m);
	return 0;
}
