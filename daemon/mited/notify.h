/*
 * notify.h - systemd's readiness protocol (sd_notify, one datagram, written
 * by hand) and whether stderr goes to the journal.
 */
#ifndef MITE_MITED_NOTIFY_H
#define MITE_MITED_NOTIFY_H

/* Sends msg ("READY=1", "STATUS=...") to $NOTIFY_SOCKET, if there is one. */
void notify_send(const char *msg);
/* Non-zero when stderr is the journal's stream (JOURNAL_STREAM). */
int notify_stderr_is_journal(void);

#endif
