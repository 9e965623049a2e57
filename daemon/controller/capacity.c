/*
 * capacity.c - runners and memory mappings a run's volume needs (see
 * capacity.h).
 */
#include "controller/capacity.h"

#include "core/coro.h"
#include "core/proto.h"

#include <math.h>
#include <stdio.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* Mappings a runner process has besides its stacks: libraries, malloc
 * arenas, sockets, the HTTP engine. Generous; a fresh runner has ~200. */
#define RUNNER_BASE_MAPS 1024
/* The suggested vm.max_map_count is rounded up to a multiple of this. */
#define MAP_COUNT_STEP 65536

static double journey_peak(const scn_journey *j, double scale)
{
	double peak = vmodel_peak(j->volume);

	if (vmodel_get_kind(j->volume) != VMODEL_CLOSED || !(peak > 0))
		return 0;
	return ceil(peak * scale);
}

double capacity_peak(const scenario *s, double scale)
{
	double total = 0;

	for (size_t i = 0; i < s->njourneys; i++)
		total += journey_peak(&s->journeys[i], scale);
	return total;
}

/* Enough runners that no journey's share is over the bound. */
static int runners_for_bound(const scenario *s, double scale, int runners, char *err, size_t errlen)
{
	double bound = (double)proto_instances_max();

	for (size_t i = 0; i < s->njourneys; i++) {
		double peak = journey_peak(&s->journeys[i], scale);
		double need = ceil(peak / bound);

		if (need > CAPACITY_RUNNERS_MAX) {
			snprintf(
				err, errlen,
				"%s: journey '%s' asks for up to %.0f instances: over %d runners of at most "
				"%.0f instances each",
				s->path, s->journeys[i].name, peak, CAPACITY_RUNNERS_MAX, bound);
			return -1;
		}
		if (need > runners)
			runners = (int)need;
	}
	return runners;
}

/* A sleeping instance keeps at least one page resident (its stack's top,
 * which holds its record): a peak whose pages alone are more than the
 * host's memory and swap cannot run. */
static int check_memory(const scenario *s, double scale, char *err, size_t errlen)
{
	double peak = capacity_peak(s, scale), page = (double)sysconf(_SC_PAGESIZE), have;
	struct sysinfo si;

	if (sysinfo(&si) < 0 || page <= 0)
		return 0;
	have = ((double)si.totalram + (double)si.totalswap) * (double)si.mem_unit;
	if (peak * page <= have)
		return 0;
	snprintf(err, errlen,
		 "%s: the journeys ask for up to %.0f instances, which need at least %.1f GiB (a "
		 "%.0f-byte page each), but this host has %.1f GiB of memory and swap",
		 s->path, peak, peak * page / 1073741824.0, page, have / 1073741824.0);
	return -1;
}

int capacity_runners(const scenario *s, double scale, int runners, int own_process, char *err,
		     size_t errlen)
{
	double per_proc = 0, needed = 0;
	long max, avail;

	if (runners < 1)
		runners = 1;
	if ((runners = runners_for_bound(s, scale, runners, err, errlen)) < 0 ||
	    check_memory(s, scale, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < s->njourneys; i++) {
		const scn_journey *j = &s->journeys[i];
		double n = journey_peak(j, scale);

		if (own_process)
			n = ceil(n / runners);
		per_proc += n;
		needed += (double)coro_maps_needed(n, j->stack_size);
	}
	if (!(needed > 0) || (max = coro_max_map_count()) < 0)
		return runners;
	/* A runner process of its own starts with about RUNNER_BASE_MAPS;
	 * in this process, what is mapped now, with the same slack. */
	if (own_process)
		avail = max - RUNNER_BASE_MAPS;
	else if ((avail = coro_maps_free()) < 0)
		return runners;
	else
		avail -= RUNNER_BASE_MAPS;
	if (needed <= (double)avail)
		return runners;
	{
		double want = ceil(((double)max - (double)avail + needed) / MAP_COUNT_STEP) *
			MAP_COUNT_STEP;

		snprintf(
			err, errlen,
			"%s: the journeys ask for up to %.0f instances per runner process, whose stacks "
			"need about %.0f memory mappings, but vm.max_map_count (%ld) leaves about %ld; "
			"raise it: sysctl -w vm.max_map_count=%.0f",
			s->path, per_proc, needed, max, avail > 0 ? avail : 0,
			want < 2147483647.0 ? want : 2147483647.0);
	}
	return -1;
}
