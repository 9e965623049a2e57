/*
 * cmd_har.c - `mitectl har convert` (cmd_har.h): the command line,
 * the output files (each written whole to a temporary file, then renamed
 * into place) and what is printed about the conversion.
 */
#include "config.h"

#include "mitectl/cmd_har.h"

#include "har/har.h"
#include "har/har_emit.h"
#include "har/har_plan.h"
#include "har/har_url.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PATTERNS 256

typedef struct patterns {
	const char *v[MAX_PATTERNS];
	size_t n;
} patterns;

typedef struct cli {
	const char *har, *out, *scenario, *function, *base_url;
	patterns keep, drop, types, headers;
	har_opts o;
} cli;

/* Paths and lines derived from the command line, all malloc'ed. */
typedef struct names {
	char *c_path, *c_show, *scn_path, *so_path, *name, *module, *build, *run;
} names;

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;

	fputs("mitectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: mitectl %s\n", CMD_HAR_SYNOPSIS);
	return CMD_HAR_USAGE;
}

/* ---- the command line ----------------------------------------------------- */

static int add_pattern(patterns *p, const char *opt, const char *v)
{
	if (!*v)
		return usage("%s takes a non-empty pattern", opt);
	if (p->n == MAX_PATTERNS)
		return usage("%s: at most %d of them", opt, MAX_PATTERNS);
	p->v[p->n++] = v;
	return 0;
}

static int check_base_url(const char *url)
{
	char *o, *h, *t;
	const char *why;
	int rc = har_url_split(url, &o, &h, &t, &why);

	if (rc == 0) {
		free(o);
		free(h);
		free(t);
		for (const char *p = url; *p; p++)
			if (*p <= 0x20 || *p >= 0x7f)
				return usage(
					"--base-url: %s: a space or a byte outside printable ASCII",
					url);
		return 0;
	}
	return usage("--base-url: %s: %s", url, why);
}

static int parse_option(cli *c, int opt, const char *arg)
{
	char *end;

	switch (opt) {
	case 'o':
		c->out = arg;
		return 0;
	case 's':
		c->scenario = arg;
		return 0;
	case 'f':
		if (!har_emit_valid_function(arg))
			return usage("--function: '%s' is not a C identifier the journey can use "
				     "(a keyword, or mite_*, think, main)",
				     arg);
		c->function = arg;
		return 0;
	case 'b':
		c->base_url = arg;
		return check_base_url(arg);
	case 'H':
		c->o.base_host = arg;
		return 0;
	case 'k':
		return add_pattern(&c->keep, "--keep-host", arg);
	case 'd':
		return add_pattern(&c->drop, "--drop-host", arg);
	case 't':
		return add_pattern(&c->types, "--drop-type", arg);
	case 'e':
		return add_pattern(&c->headers, "--drop-header", arg);
	case 'S':
		c->o.drop_static = 1;
		return 0;
	case 'g':
		c->o.gap = strtod(arg, &end);
		if (end == arg || *end || !(c->o.gap >= 0 && c->o.gap <= 86400))
			return usage("--gap takes seconds from 0 to 86400 (got '%s')", arg);
		return 0;
	default:
		return usage("bad option");
	}
}

static int parse_args(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "scenario", required_argument, NULL, 's' },
		{ "function", required_argument, NULL, 'f' },
		{ "base-url", required_argument, NULL, 'b' },
		{ "base-host", required_argument, NULL, 'H' },
		{ "keep-host", required_argument, NULL, 'k' },
		{ "drop-host", required_argument, NULL, 'd' },
		{ "drop-type", required_argument, NULL, 't' },
		{ "drop-header", required_argument, NULL, 'e' },
		{ "drop-static", no_argument, NULL, 'S' },
		{ "gap", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	c->function = "journey";
	c->o.gap = HAR_GAP_DEFAULT;
	optind = 1;
	opterr = 0;
	while (optind < argc) {
		if ((opt = getopt_long(argc, argv, "+o:", opts, NULL)) == -1) {
			if (c->har)
				return usage("unexpected argument '%s'", argv[optind]);
			c->har = argv[optind++];
			continue;
		}
		if (opt == '?' || opt == ':')
			return usage("unknown option or missing value: '%s'", argv[optind - 1]);
		if ((rc = parse_option(c, opt, optarg)))
			return rc;
	}
	if (!c->har)
		return usage("which HAR file?");
	c->o.keep_hosts = c->keep.v;
	c->o.nkeep_hosts = c->keep.n;
	c->o.drop_hosts = c->drop.v;
	c->o.ndrop_hosts = c->drop.n;
	c->o.drop_types = c->types.v;
	c->o.ndrop_types = c->types.n;
	c->o.drop_headers = c->headers.v;
	c->o.ndrop_headers = c->headers.n;
	return 0;
}

/* ---- names of things -------------------------------------------------------- */

/* path without its extension ext (when it has it), malloc'ed. */
static char *strip_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), e = strlen(ext);

	if (n > e && strcmp(path + n - e, ext) == 0 && path[n - e - 1] != '/')
		n -= e;
	return strndup(path, n);
}

static char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return strdup(s ? s + 1 : path);
}

static char *dirname_of(const char *path)
{
	char *d = strdup(path);

	if (d) {
		char *s = strrchr(d, '/');
		if (!s)
			memcpy(d, ".", 2);
		else if (s == d)
			d[1] = '\0';
		else
			*s = '\0';
	}
	return d;
}

/* s quoted for a POSIX shell when it needs it, malloc'ed. */
static char *shell_quote(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *q;

	if (*s &&
	    strspn(s,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		   "_-+./:=@%,") == n)
		return strdup(s);
	q = malloc(4 * n + 3);
	if (!q)
		return NULL;
	q[o++] = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(q + o, "'\\''", 4);
			o += 4;
		} else {
			q[o++] = *s;
		}
	}
	q[o++] = '\'';
	q[o] = '\0';
	return q;
}

/* The module as the scenario names it: the .so's file name when both sit
 * in one folder, else its absolute path. */
static char *module_name(const names *nm, const char *function)
{
	char *cdir = dirname_of(nm->so_path), *sdir = dirname_of(nm->scn_path);
	char *base = basename_of(nm->so_path), abs[PATH_MAX], *m = NULL;

	if (cdir && sdir && base) {
		if (strcmp(cdir, sdir) == 0)
			(void)!asprintf(&m, "%s:%s", base, function);
		else if (realpath(cdir, abs))
			(void)!asprintf(&m, "%s/%s:%s", abs, base, function);
		else
			(void)!asprintf(&m, "%s:%s", nm->so_path, function);
	}
	free(cdir);
	free(sdir);
	free(base);
	return m;
}

static int make_names(names *nm, const cli *c)
{
	char *stem, *qc, *qso, *qscn = NULL;
	int ok;

	memset(nm, 0, sizeof(*nm));
	stem = basename_of(c->har);
	nm->name = stem ? strip_ext(stem, ".har") : NULL;
	free(stem);
	if (!nm->name)
		return -ENOMEM;
	if (c->out)
		nm->c_path = strdup(c->out);
	else
		(void)!asprintf(&nm->c_path, "%s.c", nm->name);
	if (!nm->c_path)
		return -ENOMEM;
	stem = strcmp(nm->c_path, "-") == 0 ? strdup(nm->name) : strip_ext(nm->c_path, ".c");
	if (!stem)
		return -ENOMEM;
	(void)!asprintf(&nm->so_path, "%s.so", stem);
	if (c->scenario)
		nm->scn_path = strdup(c->scenario);
	else if (strcmp(nm->c_path, "-") != 0)
		(void)!asprintf(&nm->scn_path, "%s.conf", stem);
	free(stem);
	if (strcmp(nm->c_path, "-") != 0) {
		free(nm->name);
		stem = basename_of(nm->c_path);
		nm->name = stem ? strip_ext(stem, ".c") : NULL;
		free(stem);
	}
	/* With -o -, the lines say NAME.c: where the user will keep it. */
	if (strcmp(nm->c_path, "-") == 0)
		(void)!asprintf(&nm->c_show, "%s.c", nm->name);
	else
		nm->c_show = strdup(nm->c_path);
	qc = nm->c_show ? shell_quote(nm->c_show) : NULL;
	qso = nm->so_path ? shell_quote(nm->so_path) : NULL;
	if (nm->scn_path)
		qscn = shell_quote(nm->scn_path);
	ok = nm->name && qc && qso && (!nm->scn_path || qscn) &&
		asprintf(&nm->build, "cc -shared -fPIC $(pkg-config --cflags --libs mite) %s -o %s",
			 qc, qso) >= 0;
	if (ok && qscn)
		ok = asprintf(&nm->run, "mitectl scenario test %s", qscn) >= 0;
	else if (ok)
		ok = asprintf(&nm->run, "mitectl journey run %s%s:%s", strchr(qso, '/') ? "" : "./",
			      qso, c->function) >= 0;
	if (ok && nm->scn_path)
		ok = (nm->module = module_name(nm, c->function)) != NULL;
	free(qc);
	free(qso);
	free(qscn);
	return ok ? 0 : -ENOMEM;
}

static void free_names(names *nm)
{
	free(nm->c_path);
	free(nm->c_show);
	free(nm->scn_path);
	free(nm->so_path);
	free(nm->name);
	free(nm->module);
	free(nm->build);
	free(nm->run);
}

/* ---- writing ------------------------------------------------------------------ */

typedef int (*writer)(FILE *f, const har *h, const har_plan *p, const har_emit_info *in);

static int write_journey(FILE *f, const har *h, const har_plan *p, const har_emit_info *in)
{
	return har_emit_journey(f, h, p, in);
}

static int write_scenario(FILE *f, const har *h, const har_plan *p, const har_emit_info *in)
{
	(void)h;
	return har_emit_scenario(f, p, in);
}

/* Writes path whole through a temporary file in its folder, renamed into
 * place only when everything was written ("-": standard output). */
static int write_file(const char *path, writer w, const har *h, const har_plan *p,
		      const har_emit_info *in)
{
	char *tmp = NULL;
	FILE *f;
	mode_t mode;
	int fd, rc;

	if (strcmp(path, "-") == 0) {
		rc = w(stdout, h, p, in);
		if (fflush(stdout) != 0 || rc)
			fprintf(stderr, "mitectl: writing to standard output failed: %s\n",
				strerror(errno));
		return rc ? CMD_HAR_WRITE : 0;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		fprintf(stderr, "mitectl: out of memory\n");
		return CMD_HAR_WRITE;
	}
	if ((fd = mkstemp(tmp)) < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "mitectl: %s: cannot create: %s\n", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return CMD_HAR_WRITE;
	}
	rc = w(f, h, p, in);
	/* mkstemp made it 0600: the mode a new file would have had. */
	mode = umask(0);
	umask(mode);
	if (fclose(f) != 0 || rc || chmod(tmp, 0666 & ~mode) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "mitectl: %s: write failed: %s\n", path,
			strerror(errno ? errno : EIO));
		unlink(tmp);
		free(tmp);
		return CMD_HAR_WRITE;
	}
	free(tmp);
	return 0;
}

/* ---- what happened -------------------------------------------------------------- */

static void report_drops(FILE *f, const har *h, const har_plan *p)
{
	size_t total = 0;
	const char *sep = "";

	for (int d = 0; d < HAR_DROP_N; d++)
		total += p->dropped[d];
	if (!total)
		return;
	fprintf(f, "dropped %zu of %zu entries: ", total, h->nentries);
	for (int d = 0; d < HAR_DROP_N; d++) {
		if (!p->dropped[d])
			continue;
		fprintf(f, "%s%zu %s", sep, p->dropped[d], har_plan_drop_name((har_drop)d));
		if (d == HAR_DROP_HOST && p->other_hosts)
			fprintf(f, " (%s; --keep-host HOST keeps one)", p->other_hosts);
		sep = ", ";
	}
	fputc('\n', f);
}

static void report(FILE *f, const har *h, const har_plan *p, const names *nm,
		   const har_emit_info *in)
{
	fprintf(f, "wrote %s: %zu request%s in %zu transaction%s (function %s, base_url %s)\n",
		strcmp(nm->c_path, "-") == 0 ? "the journey" : nm->c_path, p->nsteps,
		p->nsteps == 1 ? "" : "s", p->ntxns, p->ntxns == 1 ? "" : "s", in->function,
		in->base_url);
	if (nm->scn_path)
		fprintf(f, "wrote %s\n", nm->scn_path);
	report_drops(f, h, p);
	if (p->followed)
		fprintf(f, "%zu recorded redirect hop%s left to the session to follow\n",
			p->followed, p->followed == 1 ? " is" : "s are");
	if (p->max_think > 60)
		fprintf(f,
			"note: the longest think time is %.1f s (the recording paused there): "
			"set think_scale, or edit it\n",
			p->max_think);
	fprintf(f, "build: %s\nrun:   %s\n", nm->build, nm->run);
}

static int nothing_left(const cli *c, const har *h, const har_plan *p)
{
	fprintf(stderr,
		"mitectl: %s: nothing to convert: none of its %zu entries is a request to keep\n",
		c->har, h->nentries);
	report_drops(stderr, h, p);
	return CMD_HAR_BAD;
}

static int convert(const cli *c)
{
	char err[1024];
	har h;
	har_plan p;
	names nm;
	int rc;

	if (har_load(&h, c->har, err, sizeof(err)) != 0) {
		fprintf(stderr, "mitectl: %s\n", err);
		return CMD_HAR_BAD;
	}
	if (har_plan_make(&p, &h, &c->o, c->har, stderr, err, sizeof(err)) != 0) {
		fprintf(stderr, "mitectl: %s\n", err);
		har_free(&h);
		return CMD_HAR_BAD;
	}
	rc = p.nsteps ? make_names(&nm, c) : nothing_left(c, &h, &p);
	if (p.nsteps && rc) {
		fprintf(stderr, "mitectl: out of memory\n");
		rc = CMD_HAR_WRITE;
	} else if (p.nsteps) {
		har_emit_info in = {
			.har_name = c->har,
			.c_name = nm.c_show,
			.build = nm.build,
			.run = nm.run,
			.function = c->function,
			.base_url = c->base_url ? c->base_url : p.base_origin,
			.name = nm.name,
			.module = nm.module,
		};
		rc = write_file(nm.c_path, write_journey, &h, &p, &in);
		if (!rc && nm.scn_path)
			rc = write_file(nm.scn_path, write_scenario, &h, &p, &in);
		if (!rc)
			report(strcmp(nm.c_path, "-") == 0 ? stderr : stdout, &h, &p, &nm, &in);
	}
	if (p.nsteps)
		free_names(&nm);
	har_plan_free(&p);
	har_free(&h);
	return rc;
}

int cmd_har_main(int argc, char **argv)
{
	cli c;

	memset(&c, 0, sizeof(c));
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "usage: mitectl %s\n\n%s", CMD_HAR_SYNOPSIS,
			CMD_HAR_HELP);
		return argc < 2 ? CMD_HAR_USAGE : CMD_HAR_OK;
	}
	if (strcmp(argv[1], "convert") != 0)
		return usage("har: no subcommand '%s' (there is: convert)", argv[1]);
	for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: mitectl %s\n\n%s", CMD_HAR_SYNOPSIS, CMD_HAR_HELP);
			return CMD_HAR_OK;
		}
	int rc = parse_args(&c, argc - 1, argv + 1);
	return rc ? rc : convert(&c);
}
