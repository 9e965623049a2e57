/*
 * hostproto.h - the host messages between a controller (mited --listen)
 * and its agents (mited --agent), on the agent's link (docs/distributed.md).
 * Same framing as the runner protocol (core/proto.h): one JSON object per
 * message with "v" and "t".
 *
 *   agent -> controller: host_hello, host_hb, host_exit, host_need
 *   controller -> agent: host_welcome, host_refused, host_hb, host_spawn,
 *                        host_kill, host_module
 */
#ifndef MITE_MITED_HOSTPROTO_H
#define MITE_MITED_HOSTPROTO_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTPROTO_HELLO "host_hello"
#define HOSTPROTO_WELCOME "host_welcome"
#define HOSTPROTO_REFUSED "host_refused"
#define HOSTPROTO_HB "host_hb"
#define HOSTPROTO_SPAWN "host_spawn"
#define HOSTPROTO_KILL "host_kill"
#define HOSTPROTO_EXIT "host_exit"
#define HOSTPROTO_NEED "host_need" /* agent: modules it lacks, by SHA-256 */
#define HOSTPROTO_MODULE "host_module" /* controller: one module's bytes */

/* Heartbeats: each side sends one every HOSTPROTO_HB_MS; a controller
 * declares a host lost after HOSTPROTO_LOST_MS without any message from
 * it, an agent its controller gone after HOSTPROTO_AGENT_LOST_MS. */
#define HOSTPROTO_HB_MS 500
#define HOSTPROTO_LOST_MS 2000
#define HOSTPROTO_AGENT_LOST_MS 5000
/* Runner processes a host may offer (like a run's runners). */
#define HOSTPROTO_RUNNERS_MAX 1024

/* What an agent announces. */
typedef struct hostproto_caps {
	char name[65]; /* without CURVE, the host's name; with it, the key's */
	char version[64]; /* mite's version */
	int proto, abi; /* runner protocol and module ABI */
	int cores;
	uint64_t memory; /* bytes */
	int runners; /* runner processes per run */
	char **labels; /* NULL-terminated (owned by whoever built it) */
	int nlabels;
	char cache[4096]; /* where shipped modules go ("": none shipped) */
} hostproto_caps;

/* The host_hello message for these capabilities (NULL: out of memory). */
cJSON *hostproto_hello(const hostproto_caps *c);
/* Reads a host_hello into c (labels point into msg) and checks it against
 * this build: 1 accepted, 0 refused (reason set: another protocol or ABI,
 * a field missing or out of bounds). */
int hostproto_check_hello(const cJSON *msg, hostproto_caps *c, char *reason, size_t reasonlen);
/* This machine's capabilities (cores online, physical memory, version,
 * protocol, ABI); runners 0 means one per core. */
void hostproto_local_caps(hostproto_caps *c, int runners);

#endif
