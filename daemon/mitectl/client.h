/*
 * client.h - mitectl's side of the control socket (mite-control(7)): one
 * JSON request per line, its replies read back one object per line.
 */
#ifndef MITE_MITECTL_CLIENT_H
#define MITE_MITECTL_CLIENT_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stddef.h>

/* How long a request waits for its reply. */
#define CLIENT_REPLY_TIMEOUT_MS 120000

/* Set by a SIGINT handler (watch.c): a wait for a reply ends with 130. */
extern volatile sig_atomic_t client_interrupted;

typedef struct client_conn {
	int fd;
	char *buf; /* what was read and not yet taken, at most 64 MiB */
	size_t len, cap;
} client_conn;

/* mited's socket when --socket is not given: $MITE_SOCKET, then
 * $XDG_RUNTIME_DIR/mite/mited.sock when it exists, then /run/mite/mited.sock. */
const char *client_default_socket(void);
/* Connects to cli_socket: 0, or an exit status (the error said). */
int client_open(client_conn *c);
void client_close(client_conn *c);
/* Sends req (and frees it): 0, or an exit status. */
int client_send(client_conn *c, cJSON *req);
/* The next reply object; NULL (with *rc set) on EOF, timeout, interrupt or
 * garbage. timeout_ms < 0 waits forever. */
cJSON *client_recv(client_conn *c, int timeout_ms, int *rc);
/* One request, one reply. The reply is the caller's (NULL: *rc says why);
 * c stays open for more replies and is the caller's to close. */
cJSON *client_request(client_conn *c, cJSON *req, int *rc);
/* A new request {"cmd": cmd, "run": run} (run may be NULL). */
cJSON *client_req(const char *cmd, const char *run);
/* An error reply as a message (and the reply itself under --json) and an
 * exit status: EX_NOPERM_ for "permission denied", else status. */
int client_reply_error(const cJSON *reply, int status);
/* o on one line of stdout, flushed. */
void client_print_json(const cJSON *o);
/* Sends req and prints the reply: JSON under --json, or ok_fn's rendering;
 * the exit status. */
int client_simple(cJSON *req, void (*ok_fn)(const cJSON *reply));

#endif
