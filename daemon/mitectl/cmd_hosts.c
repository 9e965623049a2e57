/* cmd_hosts.c - `mitectl keygen` and `mitectl hosts` (see cmd_hosts.h). */
#include "config.h"

#include "mitectl/cmd_hosts.h"

#include "controller/results_io.h"
#include "core/curve.h"
#include "mitectl/cli.h"
#include "mitectl/client.h"

#include <stdio.h>
#include <string.h>

int cmd_hosts_keygen(int argc, char **argv)
{
	char err[4200];
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: mitectl %s\n\n%s", CMD_HOSTS_KEYGEN_SYNOPSIS, CMD_HOSTS_KEYGEN_HELP);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-' || !argv[1][0]) {
		fprintf(stderr, "mitectl: keygen: expected one NAME\n\nusage: mitectl %s\n",
			CMD_HOSTS_KEYGEN_SYNOPSIS);
		return 2;
	}
	if (curve_keygen(argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "mitectl: %s\n", err);
		return 1;
	}
	printf("wrote %s.key (secret key, mode 0600) and %s.pub (public key)\n", argv[1], argv[1]);
	return 0;
}

/* The reply of the "hosts" request as a table. */
static void print_hosts(const cJSON *reply)
{
	const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(reply, "hosts"), *h;
	const cJSON *listen = cJSON_GetObjectItemCaseSensitive(reply, "listen");
	if (!cJSON_IsString(listen)) {
		printf("mited does not listen for runner hosts (see mited --listen)\n");
		return;
	}
	printf("listening for hosts on %s\n", listen->valuestring);
	if (cJSON_GetArraySize(hosts) == 0) {
		printf("no hosts\n");
		return;
	}
	printf("%-16s %-22s %-8s %-9s %5s %7s %9s %9s  %s\n", "HOST", "ADDRESS", "STATE", "VERSION",
	       "CORES", "RUNNERS", "INSTANCES", "HEARTBEAT", "LABELS");
	cJSON_ArrayForEach(h, hosts)
	{
		char labels[256] = "", hb[32];
		const cJSON *l;
		size_t o = 0;
		cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(h, "labels"))
		{
			if (cJSON_IsString(l) && o < sizeof(labels))
				o += (size_t)snprintf(labels + o, sizeof(labels) - o, "%s%s",
						      o ? "," : "", l->valuestring);
		}
		double age = results_io_num(h, "heartbeat_age", -1);
		if (age < 0)
			snprintf(hb, sizeof(hb), "-");
		else
			snprintf(hb, sizeof(hb), "%.1f s", age);
		printf("%-16.16s %-22.22s %-8s %-9.9s %5.0f %7.0f %9.0f %9s  %s\n",
		       results_io_str(h, "name", "?"), results_io_str(h, "address", "?"),
		       results_io_str(h, "state", "?"), results_io_str(h, "version", "?"),
		       results_io_num(h, "cores", 0), results_io_num(h, "runners", 0),
		       results_io_num(h, "instances", 0), hb, labels[0] ? labels : "-");
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(h, "why");
		if (cJSON_IsString(why))
			printf("  %s\n", why->valuestring);
	}
}

int cmd_hosts_list(int argc, char **argv)
{
	if (cli_help_requested(argc, argv, CMD_HOSTS_SYNOPSIS, CMD_HOSTS_HELP))
		return EX_OK_;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			cli_json = 1;
		else
			return cli_usage_error(CMD_HOSTS_SYNOPSIS, "unexpected argument '%s'",
					       argv[i]);
	}
	return client_simple(client_req("hosts", NULL), print_hosts);
}
