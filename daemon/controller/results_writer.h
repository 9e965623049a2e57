/*
 * results_writer.h - how a run's result files reach the disk: a thread that
 * writes the event log (rotated by size) and the timeline from a queue
 * bounded in bytes, so the loop never waits on the disk; and the summary
 * files, written whole through a temporary file and a rename.
 *
 * Every failed write is logged once per file and kept: the results object
 * asks (results_writer_sync) and says in the summary and the verdict that
 * the files are not all on disk.
 */
#ifndef MITE_CONTROLLER_RESULTS_WRITER_H
#define MITE_CONTROLLER_RESULTS_WRITER_H

#include "controller/results.h"

#include <stddef.h>

enum { WF_EVENTS = 0, WF_TIMELINE = 1, WF_N };

typedef struct writer writer;

/* Opens events.jsonl and timeline.jsonl in dir (truncating an earlier
 * run's, and removing its rotated files) and starts the thread. NULL with
 * err set. */
writer *results_writer_new(const char *dir, const results_conf *c, char *err, size_t errlen);
/* Queues one line for file WF_* (a newline is added). 0, or -ENOBUFS when
 * it did not fit (dropped) or -ENOMEM. force: in whatever the queue holds. */
int results_writer_push(writer *w, int file, const char *s, size_t len, int force);
/* Waits until every line queued so far is written (or failed), then gives
 * per file 0 or the -errno of its first failed write. */
void results_writer_sync(writer *w, int errs[WF_N]);
/* No more lines (later pushes are refused): the thread writes what is
 * queued and ends, without anyone waiting for it. */
void results_writer_finish(writer *w);
/* Non-zero once the thread has ended after results_writer_finish: then
 * results_writer_close joins it at once. */
int results_writer_ended(writer *w);
/* Writes what is queued, stops the thread, closes the files. */
void results_writer_close(writer *w);
/* "events.jsonl", "timeline.jsonl". */
const char *results_writer_file_name(int f);
/* Writes dir/name whole (a temporary file, fsync, a rename: readers never
 * see half of it). 0, or -errno (logged). */
int results_writer_file(const char *dir, const char *name, const char *data, size_t len);

#endif
