/*
 * cmd_hosts.h - the runner-host commands of mitectl: `keygen` (CURVE
 * key files, no daemon needed) and `hosts` (docs/distributed.md, mitectl(1)).
 */
#ifndef MITE_MITECTL_CMD_HOSTS_H
#define MITE_MITECTL_CMD_HOSTS_H

#define CMD_HOSTS_KEYGEN_SYNOPSIS "keygen NAME"
#define CMD_HOSTS_KEYGEN_HELP                                                                 \
	"Writes a CURVE key pair for the runner link between hosts: NAME.key (the secret\n"   \
	"key, mode 0600: give it to that host's mited only) and NAME.pub (its public key:\n"  \
	"copy it into the controller's authorized-keys folder, or give the controller's to\n" \
	"its agents as --server-key). Never overwrites. Exit: 0 written, 1 not written\n"     \
	"(a file exists, or cannot be written), 2 usage.\n"

#define CMD_HOSTS_SYNOPSIS "hosts [--json]"
#define CMD_HOSTS_HELP                                                                        \
	"Lists the runner hosts connected to mited (mited --listen): name, address, state,\n" \
	"mite version, labels, cores, runners and instances now, seconds since the last\n"    \
	"heartbeat, and hosts lost or refused recently.\n"

/* `mitectl keygen ...` (argv[0] is "keygen"): an exit status. */
int cmd_hosts_keygen(int argc, char **argv);
/* `mitectl hosts ...` (argv[0] is "hosts"): the table of mited's runner
 * hosts; an exit status. */
int cmd_hosts_list(int argc, char **argv);

#endif
