/*
 * mitectl_hosts.h - the runner-host commands of mitectl: `keygen` (CURVE
 * key files, no daemon needed) and the table `hosts` prints
 * (docs/distributed.md, mitectl(1)).
 */
#ifndef MITE_MITECTL_HOSTS_H
#define MITE_MITECTL_HOSTS_H

#include <cjson/cJSON.h>

#define MITECTL_KEYGEN_SYNOPSIS "keygen NAME"
#define MITECTL_KEYGEN_HELP                                                                   \
	"Writes a CURVE key pair for the runner link between hosts: NAME.key (the secret\n"   \
	"key, mode 0600: give it to that host's mited only) and NAME.pub (its public key:\n"  \
	"copy it into the controller's authorized-keys folder, or give the controller's to\n" \
	"its agents as --server-key). Never overwrites. Exit: 0 written, 1 not written\n"     \
	"(a file exists, or cannot be written), 2 usage.\n"

#define MITECTL_HOSTS_SYNOPSIS "hosts [--json]"
#define MITECTL_HOSTS_HELP                                                                    \
	"Lists the runner hosts connected to mited (mited --listen): name, address, state,\n" \
	"mite version, labels, cores, runners and instances now, seconds since the last\n"    \
	"heartbeat, and hosts lost or refused recently.\n"

/* `mitectl keygen ...` (argv[0] is "keygen"): an exit status. */
int mitectl_keygen_main(int argc, char **argv);
/* Prints the reply of the "hosts" request as a table. */
void mitectl_hosts_print(const cJSON *reply);

#endif
