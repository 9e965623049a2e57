/*
 * proto.h - the runner protocol: JSON objects (cJSON), one per transport
 * message, each with the protocol version "v" and the type "t".
 * docs/runner-protocol.md describes every message.
 */
#ifndef MITE_CORE_PROTO_H
#define MITE_CORE_PROTO_H

#include "transport.h"
#include <cjson/cJSON.h>
#include <stdint.h>

#define PROTO_VERSION 1
/* The most rows one "need" asks for and one "rows" message carries. */
#define PROTO_ROWS_MAX 256
/* The largest message sent or taken (the ZeroMQ transport refuses larger:
 * MAX_MSG_SIZE in transport_zmq.c). */
#define PROTO_MSG_MAX (128L * 1024 * 1024)
/* The most instances ("c") and pending starts ("s") one runner takes per
 * journey. A controller gives a runner no more (more runners share a larger
 * volume); a runner told more keeps to it and says why in its stats. */
#define PROTO_INSTANCES_MAX 10000000L

/* controller -> runner */
#define PROTO_SETUP "setup"
/* setup's "debug" (mitectl --debug): details on the first error and halt,
 * or on every error. */
#define PROTO_DEBUG_FIRST 1
#define PROTO_DEBUG_ALL 2
/* setup's "trace_instance" (an instance id) is below this: exact in JSON. */
#define PROTO_TRACE_INSTANCE_MAX ((1ULL << 53) - 1)
#define PROTO_TARGETS "targets"
#define PROTO_ROWS "rows"
#define PROTO_STOP "stop"
#define PROTO_CANCEL "cancel"
/* runner -> controller */
#define PROTO_HELLO "hello"
#define PROTO_READY "ready"
#define PROTO_ERROR "error"
#define PROTO_NEED "need"
#define PROTO_DONE "done"
#define PROTO_STATS "stats"
#define PROTO_EVENTS "events"
#define PROTO_BYE "bye"
/* {"why"}: the runner leaves the run early (its agent is gone); its last
 * stats and bye follow. */
#define PROTO_LEAVING "leaving"
/* Seconds a leaving runner gives its iterations to finish. */
#define PROTO_LEAVE_GRACE_S 1.0

/* A new message object {"v":PROTO_VERSION,"t":type}, or NULL. */
cJSON *proto_new(const char *type);
/* Serialises msg (unformatted), sends it on t and deletes msg. 0 or -errno:
 * -EMSGSIZE (logged, naming the type, size and bound) for a message over
 * PROTO_MSG_MAX. */
int proto_send(transport *t, cJSON *msg);
/* As proto_send, but a message over PROTO_MSG_MAX goes without its member
 * `shed` (an array) instead; *nshed is how many items that cost (0 when
 * none). */
int proto_send_shed(transport *t, cJSON *msg, const char *shed, size_t *nshed);
/* Parses a received buffer. NULL with a reason in err when it is not JSON,
 * not an object, has no string "t", or a "v" other than PROTO_VERSION. */
cJSON *proto_parse(const char *buf, size_t len, char *err, size_t errlen);
/* A JSON number holding a non-negative integer, as every count and id of
 * the protocol is: 0 with *out set, or -EINVAL for anything else (a string,
 * a fraction, a negative, 1e300), whose conversion would be undefined.
 * 2^64 is what UINT64_MAX became on the way (JSON numbers are doubles): it
 * saturates back. */
int proto_u64(const cJSON *item, uint64_t *out);

/* PROTO_INSTANCES_MAX, or $MITE_INSTANCES_PER_RUNNER when that is set to a
 * smaller positive number (to see a volume split over runners without
 * millions of instances). Read once. */
long proto_instances_max(void);

/* The type of a parsed message. */
const char *proto_type(const cJSON *msg);

#endif
