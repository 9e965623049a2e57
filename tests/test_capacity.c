/*
 * test_capacity.c - what a run's volume asks of its runners, checked
 * before it starts: more runners past one runner's instance bound, the
 * memory mappings per runner process (the refusal names the sysctl that
 * raises the limit), a page of memory per instance.
 *
 * $MITE_INSTANCES_PER_RUNNER and $MITE_MAX_MAP_COUNT lower the limits, so
 * that no test needs millions of instances. Each test runs in a process
 * of its own (Criterion), so each sets them before their first use.
 */
#include "testpaths.h"

#include "controller/capacity.h"
#include "controller/scenario.h"
#include "core/coro.h"
#include "core/proto.h"

#include <criterion/criterion.h>

static char err[1024];

static scenario *journey_at(long volume)
{
	char so[PATH_MAX], spec[PATH_MAX + 16];
	scenario_opts o = { .allow_any_path = 1 };
	scenario *s;

	snprintf(spec, sizeof spec, "%s:journey", tp_plugin(so, sizeof so, "good"));
	s = scenario_for_journey(spec, NULL, volume, 0, &o, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	return s;
}

Test(capacity, within_the_bound_keeps_the_runners_asked)
{
	scenario *s = journey_at(100);

	cr_assert_eq(capacity_runners(s, 1.0, 1, 1, err, sizeof err), 1, "%s", err);
	cr_assert_eq(capacity_runners(s, 1.0, 4, 1, err, sizeof err), 4, "%s", err);
	cr_assert_eq(capacity_runners(s, 1.0, 0, 0, err, sizeof err), 1, "%s", err);
	cr_assert_eq(capacity_peak(s, 2.0), 200);
	scenario_free(s);
}

Test(capacity, over_the_bound_more_runners)
{
	scenario *s;

	setenv("MITE_INSTANCES_PER_RUNNER", "50", 1);
	cr_assert_eq(proto_instances_max(), 50);
	s = journey_at(120);
	cr_assert_eq(capacity_runners(s, 1.0, 1, 1, err, sizeof err), 3, "%s", err);
	cr_assert_eq(capacity_runners(s, 1.0, 4, 1, err, sizeof err), 4, "%s", err);
	/* A scale: the runners for the new peak. */
	cr_assert_eq(capacity_runners(s, 10.0, 1, 1, err, sizeof err), 24, "%s", err);
	scenario_free(s);
}

Test(capacity, bound_override_only_lowers)
{
	setenv("MITE_INSTANCES_PER_RUNNER", "999999999999", 1);
	cr_assert_eq(proto_instances_max(), PROTO_INSTANCES_MAX);
}

Test(capacity, more_runners_than_allowed_is_refused)
{
	scenario *s;

	setenv("MITE_INSTANCES_PER_RUNNER", "10", 1);
	s = journey_at(20000);
	cr_assert_eq(capacity_runners(s, 1.0, 1, 1, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "journey '"), "%s", err);
	cr_assert_not_null(strstr(err,
				  "asks for up to 20000 instances: over 1024 runners of at most "
				  "10 instances each"),
			   "%s", err);
	scenario_free(s);
}

/* The map count is per process: one process is refused what four fit. */
Test(capacity, map_count_per_process)
{
	scenario *s;
	long needed;
	char *cmd, *end;
	double n;

	setenv("MITE_MAX_MAP_COUNT", "2000", 1);
	if (coro_max_map_count() != 2000)
		cr_skip_test("vm.max_map_count cannot be read here");
	s = journey_at(1000000);
	needed = coro_maps_needed(1e6, 0);
	cr_assert_gt(needed, 2000 - 1024, "the test's premise");
	cr_assert_lt(coro_maps_needed(250000, 0), 2000 - 1024, "the test's premise");

	cr_assert_eq(capacity_runners(s, 1.0, 1, 1, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "up to 1000000 instances per runner process"), "%s", err);
	cr_assert_not_null(strstr(err, "vm.max_map_count (2000)"), "%s", err);
	cmd = strstr(err, "raise it: sysctl -w vm.max_map_count=");
	cr_assert_not_null(cmd, "%s", err);
	n = strtod(cmd + strlen("raise it: sysctl -w vm.max_map_count="), &end);
	cr_assert_eq(*end, '\0', "%s", err);
	cr_assert_geq(n, 1024 + (double)needed, "%s", err);

	cr_assert_eq(capacity_runners(s, 1.0, 4, 1, err, sizeof err), 4, "%s", err);
	/* In test mode every runner is in this one process. */
	cr_assert_eq(capacity_runners(s, 1.0, 4, 0, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "sysctl -w vm.max_map_count="), "%s", err);
	scenario_free(s);
}

Test(capacity, a_page_per_instance_or_refused)
{
	scenario *s = journey_at(2000000000);

	cr_assert_eq(capacity_runners(s, 1.0, 1024, 1, err, sizeof err), -1);
	cr_assert_not_null(
		strstr(err, "the journeys ask for up to 2000000000 instances, which need at least"),
		"%s", err);
	cr_assert_not_null(strstr(err, "GiB of memory and swap"), "%s", err);
	scenario_free(s);
}
