/*
 * volume.h - the contract of a volume-model plugin.
 *
 * A volume model says how many instances of a journey must run. mite calls
 * it on every tick (default 100 ms) with the window [start, end) in seconds
 * since the run started, and it returns the number of concurrent instances
 * required over that window (>= 0), or MITE_STOP to end the journey's load,
 * exactly as `vm(start, end)` did in the original mite:
 *
 *     #include <mite/volume.h>
 *     MITE_MODULE(NULL, NULL);
 *
 *     long spike(double start, double end, const char *const *args)
 *     {
 *         (void)end;
 *         if (start >= 60)
 *             return MITE_STOP;
 *         return start < 30 ? 10 : mite_arg_int(args, "peak", 100);
 *     }
 *
 * Named in a scenario as
 *     volume = { plugin = "spike.so:spike"; peak = 200; };
 * where every other setting of the block reaches the function in `args`
 * (see mite_arg in <mite/mite.h>). The function runs in the controller,
 * never yields, must be quick and must not block; it is called from one
 * thread only. It may keep no state between calls other than what `start`
 * and `end` determine, so that `mitectl scale` and restarts stay exact.
 */
#ifndef MITE_VOLUME_H
#define MITE_VOLUME_H

#include <mite/mite.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef long (*mite_volume_fn)(double start, double end, const char *const *args);

#ifdef __cplusplus
}
#endif

#endif /* MITE_VOLUME_H */
