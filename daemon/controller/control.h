/*
 * control.h - mited's control socket: a Unix stream socket speaking one JSON
 * object per line each way (mite-control(7)).
 *
 * This file owns the socket, the clients and the framing: it checks every
 * peer (SO_PEERCRED: root, the daemon's own user, members of the control
 * group), reads lines up to a limit, parses them, and sends exactly one reply
 * per request. What a command does is the caller's: a table of handlers
 * (control_cmd) maps "cmd" names to functions that build the reply. A
 * handler may also turn its client into a subscription (control_client_watch)
 * that streams one object per interval until the client goes away.
 *
 * Nothing a client sends - malformed JSON, an unknown command, an oversized
 * line, silence, a disconnect in the middle of a stream - can do more than
 * earn that client an error reply and/or its disconnection.
 *
 * The process must ignore SIGPIPE (a client may vanish while a reply is
 * being written to it).
 */
#ifndef MITE_CONTROLLER_CONTROL_H
#define MITE_CONTROLLER_CONTROL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#define CONTROL_MAX_LINE_DEFAULT (64 * 1024)
#define CONTROL_IDLE_TIMEOUT_DEFAULT 60.0
#define CONTROL_MAX_CLIENTS_DEFAULT 64
/* The longest reply line (with its newline): a reply that would be longer
 * is replaced by an error saying so. mitectl reads lines of up to 64 MiB. */
#define CONTROL_REPLY_MAX (8u * 1024 * 1024)
/* The longest "id" a request may carry (as JSON text): it is echoed. */
#define CONTROL_ID_MAX 256

typedef struct control control;
typedef struct control_client control_client;

/* Builds the reply to req (an object whose "cmd" named this handler). The
 * reply must be an object with "ok"; control sends it and frees it. NULL is
 * answered with an internal error. The handler must not keep req. A handler
 * that cannot answer at once returns control_deferred after control_defer
 * (see below). */
typedef cJSON *(*control_handler)(control_client *cl, const cJSON *req, void *data);

typedef struct control_cmd {
	const char *name;
	control_handler fn;
} control_cmd;

typedef struct control_opts {
	const char *path; /* socket path (at most 107 bytes) */
	unsigned mode; /* socket file mode; 0660 when 0 */
	const char *group; /* group whose members may connect, and the socket's
			       * group when it exists; NULL for none */
	size_t max_line; /* longest request line; CONTROL_MAX_LINE_DEFAULT when 0 */
	double idle_timeout; /* seconds a client may stay silent; default when 0 */
	int max_clients; /* concurrent clients; default when 0 */
	const control_cmd *cmds; /* ends with a NULL name */
	void *data; /* handed to every handler */
} control_opts;

/* Binds the socket (replacing a stale socket file; refusing when another
 * process listens on it) and starts accepting. NULL with a reason in err. */
control *control_new(uv_loop_t *loop, const control_opts *o, char *err, size_t errlen);
/* Closes the listening socket and unlinks its path: no new clients; the
 * clients already connected are still served. */
void control_stop_accepting(control *c);
/* Closes every client and the socket (if still open) and frees c once the
 * handles are closed. */
void control_close(control *c);
/* Clients currently connected. */
int control_nclients(const control *c);

/* Streams the objects cb returns to cl every interval seconds (at least
 * 0.1), starting one interval from now, until cb returns NULL (nothing
 * more is sent), the client closes, or it sends another request. The
 * arg is freed with arg_free (may be NULL) when the watch ends. 0 or
 * -errno. */
typedef cJSON *(*control_watch_cb)(control_client *cl, void *arg, void *data);
int control_client_watch(control_client *cl, double interval, control_watch_cb cb, void *arg,
			 void (*arg_free)(void *));

/* A reply that comes later (a scenario parsed off the loop): the handler
 * calls control_defer and returns control_deferred; the reply goes with
 * control_reply, exactly once, from the loop thread. Meanwhile the other
 * clients are served, and this client's next requests wait unread (their
 * replies stay in order) and it is not dropped for idleness. NULL on ENOMEM
 * or when a reply is already deferred. */
typedef struct control_pending control_pending;
extern cJSON *const control_deferred;
control_pending *control_defer(control_client *cl);
/* Sends reply (with the request's "id") and frees both it and p; when the
 * client has gone meanwhile, only frees them. Safe after control_close. */
void control_reply(control_pending *p, cJSON *reply);

/* The peer's credentials, as the kernel gave them at connect. */
uid_t control_client_uid(const control_client *cl);
pid_t control_client_pid(const control_client *cl);

/* {"ok":false,"error":<message>} (printf-style), or NULL on ENOMEM. */
cJSON *control_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* {"ok":true}, or NULL on ENOMEM. */
cJSON *control_ok(void);

#endif
