/*
 * results_writer.c - the thread that writes a run's event log and timeline,
 * and the summary files' atomic writes (see results_writer.h).
 */
#include "controller/results_writer.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESULTS_MAX_ROTATED 1000
#define WBUF_SIZE (64 * 1024)

typedef struct wline {
	struct wline *next;
	int file;
	size_t len; /* with the newline */
	char data[];
} wline;

typedef struct wbuf {
	char *b;
	size_t n;
} wbuf;

struct writer {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* lines queued, or closing */
	pthread_cond_t idle_cv; /* the thread has written all it took */
	pthread_t th;
	wline *head, *tail;
	size_t queued, queue_max; /* bytes */
	int closing;
	int exited; /* the thread wrote everything and returned */
	int busy; /* the thread holds lines it took */
	int failed_seen[WF_N]; /* copies of write_failed, under mu */
	/* The thread's own from here on. */
	char *dir;
	char *path[WF_N];
	int fd[WF_N];
	wbuf buf[WF_N];
	size_t events_size, max_size;
	int keep;
	int write_failed[WF_N]; /* -errno of the first failed write (logged once), or 0 */
};

static const char *const wf_names[WF_N] = { "events.jsonl", "timeline.jsonl" };

const char *results_writer_file_name(int f)
{
	return f >= 0 && f < WF_N ? wf_names[f] : "?";
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The first failure of a file is logged and kept for the summary; the
 * later lines of that file are lost too, and not logged again. */
static void wr_failed(writer *w, int f, int rc)
{
	if (w->write_failed[f])
		return;
	w->write_failed[f] = rc;
	log_err("results: writing %s failed: %s (further lines of it are lost)", w->path[f],
		strerror(-rc));
}

static void wr_flush(writer *w, int f)
{
	int rc;

	if (!w->buf[f].n)
		return;
	rc = w->fd[f] >= 0 ? write_all(w->fd[f], w->buf[f].b, w->buf[f].n) : -EBADF;
	if (rc < 0)
		wr_failed(w, f, rc);
	w->buf[f].n = 0;
}

/* events.jsonl -> .1 -> .2 ... -> .keep (the oldest falls off). */
static void wr_rotate(writer *w)
{
	char from[PATH_MAX], to[PATH_MAX];

	wr_flush(w, WF_EVENTS);
	if (w->fd[WF_EVENTS] >= 0)
		close(w->fd[WF_EVENTS]);
	for (int k = w->keep - 1; k >= 1; k--) {
		snprintf(from, sizeof(from), "%s.%d", w->path[WF_EVENTS], k);
		snprintf(to, sizeof(to), "%s.%d", w->path[WF_EVENTS], k + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			log_warn("results: rotating %s failed: %s", from, strerror(errno));
	}
	snprintf(to, sizeof(to), "%s.1", w->path[WF_EVENTS]);
	if (rename(w->path[WF_EVENTS], to) < 0)
		log_warn("results: rotating %s failed: %s", w->path[WF_EVENTS], strerror(errno));
	w->fd[WF_EVENTS] =
		open(w->path[WF_EVENTS], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0640);
	if (w->fd[WF_EVENTS] < 0)
		wr_failed(w, WF_EVENTS, -errno);
	w->events_size = 0;
}

static void wr_line(writer *w, const wline *l)
{
	wbuf *b = &w->buf[l->file];

	if (l->file == WF_EVENTS) {
		if (w->events_size && w->events_size + l->len > w->max_size)
			wr_rotate(w);
		w->events_size += l->len;
	}
	if (b->n + l->len > WBUF_SIZE)
		wr_flush(w, l->file);
	if (l->len > WBUF_SIZE) {
		int rc = w->fd[l->file] >= 0 ? write_all(w->fd[l->file], l->data, l->len) : -EBADF;

		if (rc < 0)
			wr_failed(w, l->file, rc);
		return;
	}
	memcpy(b->b + b->n, l->data, l->len);
	b->n += l->len;
}

static void *wr_main(void *arg)
{
	writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		wline *batch;
		size_t bytes = 0;

		while (!w->head && !w->closing)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->head)
			break; /* closing, and nothing left */
		batch = w->head;
		w->head = w->tail = NULL;
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);
		while (batch) {
			wline *next = batch->next;

			wr_line(w, batch);
			bytes += batch->len;
			free(batch);
			batch = next;
		}
		for (int f = 0; f < WF_N; f++)
			wr_flush(w, f);
		pthread_mutex_lock(&w->mu);
		w->queued -= bytes;
		w->busy = 0;
		memcpy(w->failed_seen, w->write_failed, sizeof(w->failed_seen));
		pthread_cond_broadcast(&w->idle_cv);
	}
	w->exited = 1;
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void wr_free_files(writer *w)
{
	for (int f = 0; f < WF_N; f++) {
		if (w->fd[f] >= 0)
			close(w->fd[f]);
		free(w->path[f]);
		free(w->buf[f].b);
	}
	free(w->dir);
}

writer *results_writer_new(const char *dir, const results_conf *c, char *err, size_t errlen)
{
	writer *w = calloc(1, sizeof(*w));
	int rc;

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->fd[0] = w->fd[1] = -1;
	w->max_size = c->events_max_size;
	w->keep = c->events_keep;
	w->queue_max = c->queue_max;
	if (!(w->dir = strdup(dir)))
		goto nomem;
	for (int f = 0; f < WF_N; f++) {
		size_t n = strlen(dir) + strlen(wf_names[f]) + 2;

		if (!(w->path[f] = malloc(n)) || !(w->buf[f].b = malloc(WBUF_SIZE)))
			goto nomem;
		snprintf(w->path[f], n, "%s/%s", dir, wf_names[f]);
		w->fd[f] =
			open(w->path[f], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0640);
		if (w->fd[f] < 0) {
			snprintf(err, errlen, "cannot open %s: %s", w->path[f], strerror(errno));
			goto fail;
		}
	}
	for (int k = 1; k <= RESULTS_MAX_ROTATED; k++) {
		char old[PATH_MAX];

		snprintf(old, sizeof(old), "%s.%d", w->path[WF_EVENTS], k);
		if (unlink(old) < 0 && k > w->keep)
			break;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->idle_cv, NULL);
	rc = pthread_create(&w->th, NULL, wr_main, w);
	if (rc) {
		snprintf(err, errlen, "cannot start the writer thread: %s", strerror(rc));
		pthread_cond_destroy(&w->cv);
		pthread_cond_destroy(&w->idle_cv);
		pthread_mutex_destroy(&w->mu);
		goto fail;
	}
	return w;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	wr_free_files(w);
	free(w);
	return NULL;
}

int results_writer_push(writer *w, int file, const char *s, size_t len, int force)
{
	wline *l = malloc(sizeof(*l) + len + 1);

	if (!l)
		return -ENOMEM;
	l->next = NULL;
	l->file = file;
	l->len = len + 1;
	memcpy(l->data, s, len);
	l->data[len] = '\n';
	pthread_mutex_lock(&w->mu);
	if (w->closing || (!force && w->queued + l->len > w->queue_max)) {
		pthread_mutex_unlock(&w->mu);
		free(l);
		return -ENOBUFS;
	}
	if (w->tail)
		w->tail->next = l;
	else
		w->head = l;
	w->tail = l;
	w->queued += l->len;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void results_writer_sync(writer *w, int errs[WF_N])
{
	pthread_mutex_lock(&w->mu);
	while (w->head || w->busy)
		pthread_cond_wait(&w->idle_cv, &w->mu);
	memcpy(errs, w->failed_seen, sizeof(w->failed_seen));
	pthread_mutex_unlock(&w->mu);
}

void results_writer_finish(writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->closing = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int results_writer_ended(writer *w)
{
	int e;

	pthread_mutex_lock(&w->mu);
	e = w->exited;
	pthread_mutex_unlock(&w->mu);
	return e;
}

void results_writer_close(writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->closing = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->idle_cv);
	pthread_mutex_destroy(&w->mu);
	wr_free_files(w);
	free(w);
}

/* ---- the summary files -------------------------------------------------- */

int results_writer_file(const char *dir, const char *name, const char *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp)) {
		log_err("results: cannot write %s/%s: path too long", dir, name);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = write_all(fd, data, len);
	/* A full disk may only say so when the data is flushed. */
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc)
		return 0;
	unlink(tmp);
fail:
	log_err("results: cannot write %s: %s", path, strerror(-rc));
	return rc;
}
