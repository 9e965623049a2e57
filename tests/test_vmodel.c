/* test_vmodel.c - volume models. */
#include "controller/vmodel.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

static char err[256];

Test(vmodel, constant_forever)
{
	vmodel *m = vmodel_new_constant(10, 0, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(vmodel_get_kind(m), VMODEL_CLOSED);
	cr_assert_eq(vmodel_eval(m, 0, 0.1), 10);
	cr_assert_eq(vmodel_eval(m, 1e6, 1e6 + 0.1), 10);
	cr_assert_float_eq(vmodel_end(m), -1, 0);
	cr_assert_float_eq(vmodel_peak(m), 10, 0);
	cr_assert_str_eq(vmodel_describe(m), "constant 10");
	cr_assert_eq(vmodel_once(m), 0);
	cr_assert_null(vmodel_error(m));
	vmodel_free(m);
}

Test(vmodel, constant_with_duration)
{
	vmodel *m = vmodel_new_constant(3, 60, err, sizeof(err));

	cr_assert_eq(vmodel_eval(m, 59.9, 60.0), 3);
	cr_assert_eq(vmodel_eval(m, 59.95, 60.05), 3, "a window that straddles the end");
	cr_assert_eq(vmodel_eval(m, 60, 60.1), MITE_STOP);
	cr_assert_eq(vmodel_eval(m, 100, 100.1), MITE_STOP);
	cr_assert_float_eq(vmodel_end(m), 60, 0);
	cr_assert_str_eq(vmodel_describe(m), "constant 3 for 60 s");
	vmodel_free(m);
}

Test(vmodel, constant_zero_is_allowed)
{
	vmodel *m = vmodel_new_constant(0, 0, err, sizeof(err));

	cr_assert_eq(vmodel_eval(m, 0, 1), 0);
	vmodel_free(m);
}

Test(vmodel, constant_bad)
{
	cr_assert_null(vmodel_new_constant(-1, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "count must be between 0 and 1000000000000, not -1");
	cr_assert_null(vmodel_new_constant(1, NAN, err, sizeof(err)));
}

Test(vmodel, ramp_up_then_hold)
{
	vmodel *m = vmodel_new_ramp(0, 10, 10, 0, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(vmodel_eval(m, 0, 0.1), 0);
	cr_assert_eq(vmodel_eval(m, 0.9, 1.0), 1, "reaches 1 at t = 1");
	cr_assert_eq(vmodel_eval(m, 1.0, 1.1), 1);
	cr_assert_eq(vmodel_eval(m, 2.9, 3.0), 3, "no rounding loss at 2.9999999");
	cr_assert_eq(vmodel_eval(m, 4.95, 5.05), 5);
	cr_assert_eq(vmodel_eval(m, 9.9, 10.0), 10);
	cr_assert_eq(vmodel_eval(m, 50, 50.1), 10, "holds `to`");
	cr_assert_float_eq(vmodel_peak(m), 10, 0);
	cr_assert_float_eq(vmodel_end(m), -1, 0);
	cr_assert_str_eq(vmodel_describe(m), "ramp 0 -> 10 over 10 s");
	vmodel_free(m);
}

Test(vmodel, ramp_down_and_stop)
{
	vmodel *m = vmodel_new_ramp(50, 0, 30, 40, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(vmodel_eval(m, 0, 0.1), 50, "the window's most");
	cr_assert_eq(vmodel_eval(m, 15, 15.1), 25);
	cr_assert_eq(vmodel_eval(m, 30, 30.1), 0);
	cr_assert_eq(vmodel_eval(m, 39.9, 40), 0);
	cr_assert_eq(vmodel_eval(m, 40, 40.1), MITE_STOP);
	cr_assert_float_eq(vmodel_peak(m), 50, 0);
	cr_assert_str_eq(vmodel_describe(m), "ramp 50 -> 0 over 30 s for 40 s");
	vmodel_free(m);
}

Test(vmodel, ramp_bad)
{
	cr_assert_null(vmodel_new_ramp(0, 10, 0, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "ramp `over` must be more than 0 seconds");
	cr_assert_null(vmodel_new_ramp(0, 10, 30, 20, err, sizeof(err)));
	cr_assert_str_eq(err, "duration (20 s) must not be shorter than the ramp (30 s)");
	cr_assert_null(vmodel_new_ramp(-1, 10, 30, 0, err, sizeof(err)));
}

Test(vmodel, stages)
{
	const vmodel_step st[] = {
		{ 5, 5, 10 }, /* 5 for 10 s */
		{ 5, 25, 20 }, /* ramp to 25 over 20 s */
		{ 25, 25, 30 }, /* 25 for 30 s */
	};
	vmodel *m = vmodel_new_stages(st, 3, 0, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(vmodel_eval(m, 0, 0.1), 5);
	cr_assert_eq(vmodel_eval(m, 9.9, 10), 5, "a step starts at its time, not before");
	cr_assert_eq(vmodel_eval(m, 10, 10.1), 5);
	cr_assert_eq(vmodel_eval(m, 19.9, 20), 15);
	cr_assert_eq(vmodel_eval(m, 45, 45.1), 25);
	cr_assert_eq(vmodel_eval(m, 59.9, 60), 25);
	cr_assert_eq(vmodel_eval(m, 60, 60.1), MITE_STOP, "stops after the last step");
	cr_assert_float_eq(vmodel_end(m), 60, 0);
	cr_assert_float_eq(vmodel_peak(m), 25, 0);
	cr_assert_str_eq(vmodel_describe(m), "stages: 3 steps over 60 s");
	vmodel_free(m);

	m = vmodel_new_stages(st, 2, 1, err, sizeof(err));
	cr_assert_eq(vmodel_eval(m, 1000, 1000.1), 25, "hold keeps the last value");
	cr_assert_float_eq(vmodel_end(m), -1, 0);
	cr_assert_str_eq(vmodel_describe(m), "stages: 2 steps over 30 s, then hold");
	vmodel_free(m);
}

Test(vmodel, stages_window_spanning_steps)
{
	const vmodel_step st[] = { { 2, 2, 1 }, { 40, 40, 1 }, { 3, 3, 1 } };
	vmodel *m = vmodel_new_stages(st, 3, 0, err, sizeof(err));

	/* A long window asks for the most of any step it covers. */
	cr_assert_eq(vmodel_eval(m, 0.5, 2.5), 40);
	cr_assert_eq(vmodel_eval(m, 2.0, 2.0), 3, "an empty window is its instant");
	vmodel_free(m);
}

Test(vmodel, stages_bad)
{
	const vmodel_step neg[] = { { 1, 1, 10 }, { 1, 1, 0 } };

	cr_assert_null(vmodel_new_stages(neg, 0, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "stages needs at least one step");
	cr_assert_null(vmodel_new_stages(neg, 2, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "step 2: duration must be more than 0 seconds");
}

Test(vmodel, oneshot)
{
	vmodel *m = vmodel_new_oneshot(4, 0, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(vmodel_once(m), 1);
	cr_assert_eq(vmodel_get_kind(m), VMODEL_CLOSED);
	cr_assert_eq(vmodel_eval(m, 0, 0.1), 4);
	cr_assert_eq(vmodel_eval(m, 100, 100.1), 4);
	cr_assert_float_eq(vmodel_peak(m), 4, 0);
	cr_assert_str_eq(vmodel_describe(m), "oneshot 4");
	vmodel_free(m);

	m = vmodel_new_oneshot(1, 5, err, sizeof(err));
	cr_assert_eq(vmodel_eval(m, 5, 5.1), MITE_STOP);
	cr_assert_str_eq(vmodel_describe(m), "oneshot 1 for 5 s");
	vmodel_free(m);
	cr_assert_null(vmodel_new_oneshot(0, 0, err, sizeof(err)));
}

/* Sums a model over windows of `tick` from 0 to `until`, each window's start
 * the previous one's end, as the run's ticker passes them. */
static long sum_windows(vmodel *m, double tick, double until)
{
	long total = 0;
	double t = 0;

	for (int i = 0; t < until; i++) {
		double next = (i + 1) * tick;
		long r = vmodel_eval(m, t, next);
		if (r == MITE_STOP)
			break;
		cr_assert_geq(r, 0);
		total += r;
		t = next;
	}
	return total;
}

Test(vmodel, arrival_constant_rate_adds_up)
{
	vmodel *m = vmodel_new_arrival(7, 7, 0, 0, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(vmodel_get_kind(m), VMODEL_OPEN);
	cr_assert_eq(vmodel_eval(m, 0, 1), 7);
	cr_assert_eq(sum_windows(m, 0.1, 10), 70);
	cr_assert_eq(sum_windows(m, 0.013, 10.0001), 70);
	cr_assert_float_eq(vmodel_peak(m), 7, 0);
	cr_assert_str_eq(vmodel_describe(m), "arrival 7/s");
	vmodel_free(m);
}

Test(vmodel, arrival_fractional_rate)
{
	vmodel *m = vmodel_new_arrival(0.5, 0.5, 0, 0, err, sizeof(err));

	/* One start every two seconds, in whichever window it falls. */
	cr_assert_eq(vmodel_eval(m, 0, 1), 0);
	cr_assert_eq(vmodel_eval(m, 1, 2), 1);
	cr_assert_eq(sum_windows(m, 0.1, 100), 50);
	vmodel_free(m);
}

Test(vmodel, arrival_ramp_and_duration)
{
	vmodel *m = vmodel_new_arrival(0, 10, 10, 20, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	/* Integral: 0..10 s ramps (50 starts), 10..20 s at 10/s (100 starts). */
	cr_assert_eq(vmodel_eval(m, 0, 10), 50);
	cr_assert_eq(vmodel_eval(m, 10, 20), 100);
	cr_assert_eq(vmodel_eval(m, 19.5, 25), 5, "clipped at the end");
	cr_assert_eq(vmodel_eval(m, 20, 20.1), MITE_STOP);
	cr_assert_eq(sum_windows(m, 0.1, 30), 150);
	cr_assert_eq(sum_windows(m, 0.25, 30), 150);
	cr_assert_float_eq(vmodel_end(m), 20, 0);
	cr_assert_float_eq(vmodel_peak(m), 10, 0);
	cr_assert_str_eq(vmodel_describe(m), "arrival 0/s -> 10/s over 10 s for 20 s");
	vmodel_free(m);
}

Test(vmodel, arrival_bad)
{
	cr_assert_null(vmodel_new_arrival(0, 10, 0, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "a changing arrival rate needs `over` of more than 0 seconds");
	cr_assert_null(vmodel_new_arrival(-1, -1, 0, 0, err, sizeof(err)));
}

static long plug(double start, double end, const char *const *args)
{
	(void)end;
	if (start >= 10)
		return MITE_STOP;
	if (start >= 5)
		return mite_arg_int(args, "code", -9);
	return mite_arg_int(args, "n", 0);
}

Test(vmodel, plugin_passes_args_and_stops)
{
	const char *args[] = { "n", "12", NULL };
	vmodel *m = vmodel_new_plugin(plug, "t.so:plug", args, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(vmodel_eval(m, 0, 0.1), 12);
	cr_assert_eq(vmodel_eval(m, 10, 10.1), MITE_STOP);
	cr_assert_null(vmodel_error(m), "MITE_STOP is not an error");
	cr_assert_float_eq(vmodel_peak(m), -1, 0);
	cr_assert_float_eq(vmodel_end(m), -1, 0);
	cr_assert_str_eq(vmodel_describe(m), "plugin t.so:plug");
	vmodel_free(m);
}

Test(vmodel, plugin_error_stops_and_reports)
{
	const char *args[] = { "n", "1", "code", "-7", NULL };
	vmodel *m = vmodel_new_plugin(plug, "t.so:plug", args, err, sizeof(err));

	cr_assert_eq(vmodel_eval(m, 0, 0.1), 1);
	cr_assert_eq(vmodel_eval(m, 5, 5.1), MITE_STOP);
	cr_assert_str_eq(vmodel_error(m),
			 "volume plugin t.so:plug returned -7 over [5, 5.1): its load ends");
	cr_assert_eq(vmodel_eval(m, 0, 0.1), MITE_STOP, "stays stopped");
	vmodel_free(m);
	cr_assert_null(vmodel_new_plugin(NULL, "x", NULL, err, sizeof(err)));
}

Test(vmodel, null_and_free)
{
	cr_assert_eq(vmodel_eval(NULL, 0, 1), MITE_STOP);
	vmodel_free(NULL);
}
