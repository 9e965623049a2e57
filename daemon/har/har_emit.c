/*
 * har_emit.c - the C journey and the scenario of a HAR conversion
 * (har_emit.h). The journey reads top to bottom as the recording went:
 * a block per transaction, a request per statement, each with a comment
 * saying what the browser sent and got.
 */
#include "config.h"

#include "har/har_emit.h"
#include "har/har_cstr.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* Longer literals than C11 promises to take (4095 bytes) become arrays. */
#define MAX_LITERAL 4000
#define WRAP 64
#define COMMENT_URL 120

/* ---- the head of the file ------------------------------------------------ */

static void emit_head(FILE *f, const har *h, const har_plan *p, const har_emit_info *in)
{
	const char *base = strrchr(in->c_name, '/');

	fputs("/*\n * ", f);
	har_cstr_comment(f, base ? base + 1 : in->c_name, 200);
	fputs(" - a mite journey made by `mitectl har convert` from\n * ", f);
	har_cstr_comment(f, in->har_name, 200);
	if (h->creator) {
		fputs(" (recorded with ", f);
		har_cstr_comment(f, h->creator, 100);
		fputc(')', f);
	}
	fprintf(f, ": %zu request%s in %zu transaction%s.\n", p->nsteps, p->nsteps == 1 ? "" : "s",
		p->ntxns, p->ntxns == 1 ? "" : "s");
	fputs(" * It is yours to edit: take values from responses, rows from a datapool,\n"
	      " * drop what you do not need.\n"
	      " *\n"
	      " * Config (the scenario's config block, MITE_CONF_<key>, --set key=value):\n"
	      " *   base_url     where the recorded site's requests go (default \"",
	      f);
	har_cstr_comment(f, in->base_url, 200);
	fputs("\",\n"
	      " *                as recorded)\n"
	      " *   think_scale  multiplies the recorded think times (default 1; 0: none)\n"
	      " *\n"
	      " * No cookie is copied from the recording: the session's cookie jar keeps\n"
	      " * what the server sets, as the browser did. A recorded redirect chain is\n"
	      " * requested once and followed by the session (each hop is measured on\n"
	      " * its own); the status checked is the last hop's.\n"
	      " *\n"
	      " * Build:\n *   ",
	      f);
	har_cstr_comment(f, in->build, 400);
	fputs("\n * Run:\n *   ", f);
	har_cstr_comment(f, in->run, 400);
	fputs("\n */\n"
	      "#include <mite/http.h>\n"
	      "#include <mite/mite.h>\n"
	      "\n"
	      "MITE_MODULE(NULL, NULL);\n"
	      "\n",
	      f);
	fprintf(f, "MITE_EXPORT int %s(mite_ctx *ctx, const mite_row *row);\n\n", in->function);
}

static void emit_think_fn(FILE *f)
{
	fputs("/* Sleeps a recorded think time times think_scale. Returns non-zero when\n"
	      " * the run is being cancelled: the journey then returns at once. */\n"
	      "static int think(mite_ctx *ctx, double recorded)\n"
	      "{\n"
	      "\tdouble s = recorded * mite_config_double(ctx, \"think_scale\", 1.0);\n"
	      "\n"
	      "\treturn s > 0 && mite_sleep(ctx, s) == MITE_ECANCELED;\n"
	      "}\n\n",
	      f);
}

/* "Name: value" (or "Name;" for an empty value, as mite-http(3) says). */
static void emit_header_line(FILE *f, const char *name, const char *value)
{
	har_cstr_seg segs[3] = {
		{ name, strlen(name) },
		{ *value ? ": " : ";", *value ? 2 : 1 },
		{ value, strlen(value) },
	};

	har_cstr_writev(f, segs, 3, 0, "");
}

static void emit_setup(FILE *f, const har_plan *p, const har_emit_info *in)
{
	fprintf(f, "int %s(mite_ctx *ctx, const mite_row *row)\n{\n", in->function);
	fputs("\tmite_http_response *r;\n\n\t(void)row;\n", f);
	fputs("\tmite_http_set_base_url(ctx, mite_config_str(ctx, \"base_url\", ", f);
	har_cstr_write(f, in->base_url, strlen(in->base_url), 0, "");
	fputs("));\n", f);
	if (p->max_hops > 5)
		fprintf(f,
			"\tmite_http_set_redirects(ctx, 1, %zu); /* the longest recorded chain */\n",
			p->max_hops);
	if (p->ncommon)
		fputs("\t/* What every request of the recording sent. */\n", f);
	for (size_t i = 0; i < p->ncommon; i++) {
		fputs("\tmite_http_set_header(ctx, ", f);
		har_cstr_write(f, p->common[i]->name, strlen(p->common[i]->name), 0, "");
		fputs(", ", f);
		har_cstr_write(f, p->common[i]->value, strlen(p->common[i]->value), 0, "");
		fputs(");\n", f);
	}
}

/* ---- requests ----------------------------------------------------------- */

/* What the request did in the recording, as a comment. */
static void emit_step_comment(FILE *f, const har *h, const har_step *s, size_t num)
{
	fprintf(f, "\t/* %zu. ", num);
	har_cstr_comment(f, s->e->method, 40);
	fputc(' ', f);
	har_cstr_comment(f, s->e->url, COMMENT_URL);
	fprintf(f, " -> %d", s->e->status);
	if (s->hops) {
		/* The hops are the entries between e and last along the chain;
		 * their statuses are all redirects but the last's. */
		fprintf(f, " -> ... -> %d (the session follows %zu redirect%s)", s->last->status,
			s->hops, s->hops == 1 ? "" : "s");
	} else if (!s->follow) {
		fputs(" (a redirect whose next hop is not replayed: not followed)", f);
	}
	if (s->was_304)
		fputs("; 304 came from the browser's cache validation: no If-None-Match or\n"
		      "\t * If-Modified-Since is sent, so 200 is expected",
		      f);
	if (s->e->body_len)
		fprintf(f, "; body: %zu bytes", s->e->body_len);
	(void)h;
	fputs(" */\n", f);
}

static void emit_headers(FILE *f, const har_step *s)
{
	fputs("\t\tstatic const char *const headers[] = {\n", f);
	for (size_t k = 0; k < s->nheaders; k++) {
		fputs("\t\t\t", f);
		emit_header_line(f, s->headers[k]->name, s->headers[k]->value);
		fputs(",\n", f);
	}
	if (s->add_type) {
		fputs("\t\t\t", f);
		emit_header_line(f, "Content-Type", s->e->body_type);
		fputs(",\n", f);
	}
	fputs("\t\t\tNULL,\n\t\t};\n", f);
}

/* Returns 1 when the body is a string literal (its length is sizeof - 1),
 * 0 when it is an array. */
static int emit_body(FILE *f, const har_entry *e)
{
	if (e->body_len <= MAX_LITERAL && har_cstr_is_text(e->body, e->body_len)) {
		fputs("\t\tstatic const char body[] =\n\t\t\t", f);
		har_cstr_write(f, e->body, e->body_len, WRAP, "\t\t\t");
		fputs(";\n", f);
		return 1;
	}
	fprintf(f, "\t\t/* %zu bytes", e->body_len);
	if (e->body_type) {
		fputs(" of ", f);
		har_cstr_comment(f, e->body_type, 80);
	}
	fputs(" */\n", f);
	fputs("\t\tstatic const unsigned char body[] = ", f);
	har_cstr_bytes(f, e->body, e->body_len, "\t\t\t");
	fputs("\t\t};\n", f);
	return 0;
}

/* The URL as a literal: the target alone when it goes to base_url. */
static void emit_url(FILE *f, const har_step *s)
{
	const har_entry *e = s->e;
	har_cstr_seg segs[2] = { { e->origin, strlen(e->origin) },
				 { e->target, strlen(e->target) } };

	if (s->relative)
		har_cstr_write(f, e->target, segs[1].len, 0, "");
	else
		har_cstr_writev(f, segs, 2, 0, "");
}

static void emit_call(FILE *f, const har_step *s, const char *opts, const char *indent)
{
	fprintf(f, "%sif (mite_http_request(ctx, ", indent);
	har_cstr_write(f, s->e->method, strlen(s->e->method), 0, "");
	fputs(", ", f);
	emit_url(f, s);
	fprintf(f,
		", %s, &r) != 0 ||\n%s    mite_http_expect_status(ctx, r, %d) != 0)\n"
		"%s\treturn mite_txn_end(ctx);\n",
		opts, indent, s->expect, indent);
}

static void emit_step(FILE *f, const har *h, const har_plan *p, const har_step *s, size_t num)
{
	int has_headers = s->nheaders || s->add_type, literal = 0;
	const char *sep = "";

	emit_step_comment(f, h, s, num);
	if (!has_headers && !s->e->body_len && s->follow) {
		emit_call(f, s, "NULL", "\t");
		return;
	}
	fputs("\t{\n", f);
	if (has_headers)
		emit_headers(f, s);
	if (s->e->body_len)
		literal = emit_body(f, s->e);
	fputs("\t\tconst mite_http_opts o = {", f);
	if (has_headers)
		fprintf(f, "%s.headers = headers", sep), sep = ", ";
	if (s->e->body_len)
		fprintf(f, "%s.body = body, .body_len = sizeof(body)%s", sep,
			literal ? " - 1" : ""),
			sep = ", ";
	if (!s->follow)
		fprintf(f, "%s.flags = MITE_HTTP_NO_REDIRECTS", sep);
	fputs("};\n\n", f);
	emit_call(f, s, "&o", "\t\t");
	fputs("\t}\n", f);
}

/* ---- transactions and the whole -------------------------------------------- */

static void emit_txn(FILE *f, const har *h, const har_plan *p, size_t t)
{
	const har_txn *x = &p->txns[t];
	const har_entry *e = p->steps[x->first].e;

	if (x->think > 0)
		fprintf(f, "\n\tif (think(ctx, %.3f))\n\t\treturn 0;\n", x->think);
	fprintf(f, "\n\t/* ---- transaction %zu, \"", t + 1);
	har_cstr_comment(f, x->name, HAR_NAME_MAX);
	fputc('"', f);
	if (e->page >= 0) {
		fputs(" (page ", f);
		har_cstr_comment(f, h->pages[e->page].id, 60);
		fputc(')', f);
	}
	fprintf(f, ": %zu request%s ---- */\n\tmite_txn_begin(ctx, ", x->n, x->n == 1 ? "" : "s");
	har_cstr_write(f, x->name, strlen(x->name), 0, "");
	fputs(");\n", f);
	for (size_t i = x->first; i < x->first + x->n; i++) {
		fputc('\n', f);
		emit_step(f, h, p, &p->steps[i], i + 1);
	}
	if (t + 1 < p->ntxns)
		fputs("\tmite_txn_end(ctx);\n", f);
	else
		fputs("\treturn mite_txn_end(ctx);\n}\n", f);
}

int har_emit_journey(FILE *f, const har *h, const har_plan *p, const har_emit_info *in)
{
	int thinks = 0;

	for (size_t t = 0; t < p->ntxns; t++)
		thinks |= p->txns[t].think > 0;
	emit_head(f, h, p, in);
	if (thinks)
		emit_think_fn(f);
	emit_setup(f, p, in);
	for (size_t t = 0; t < p->ntxns; t++)
		emit_txn(f, h, p, t);
	return ferror(f) ? -EIO : 0;
}

/* A '#' comment: printable bytes only (a line break would end it). */
static void config_comment(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

int har_emit_scenario(FILE *f, const har_plan *p, const har_emit_info *in)
{
	fputs("# A scenario made by `mitectl har convert` from ", f);
	config_comment(f, in->har_name);
	fputs(":\n# one instance replays the recording, again and again, for 60 s; the\n"
	      "# volume model (mite-scenario(5)) sets how many. Build the journey with\n#   ",
	      f);
	config_comment(f, in->build);
	fputs("\n# and run it with\n#   ", f);
	config_comment(f, in->run);
	fputs("\nname = ", f);
	har_cstr_config(f, in->name);
	fputs(";\nduration = 60.0;\n\nconfig = {\n  base_url = ", f);
	har_cstr_config(f, in->base_url);
	fputs(";  # where the recorded site's requests go\n"
	      "  think_scale = 1.0;  # multiplies the recorded think times (0: none)\n};\n\n"
	      "journeys = (\n  {\n    name = ",
	      f);
	har_cstr_config(f, in->name);
	fputs(";\n    journey = ", f);
	har_cstr_config(f, in->module);
	fputs(";\n    volume = { type = \"constant\"; count = 1; };\n  }\n);\n", f);
	(void)p;
	return ferror(f) ? -EIO : 0;
}

int har_emit_valid_function(const char *name)
{
	static const char *const taken[] = {
		/* C11 keywords */
		"auto",
		"break",
		"case",
		"char",
		"const",
		"continue",
		"default",
		"do",
		"double",
		"else",
		"enum",
		"extern",
		"float",
		"for",
		"goto",
		"if",
		"inline",
		"int",
		"long",
		"register",
		"restrict",
		"return",
		"short",
		"signed",
		"sizeof",
		"static",
		"struct",
		"switch",
		"typedef",
		"union",
		"unsigned",
		"void",
		"volatile",
		"while",
		"_Alignas",
		"_Alignof",
		"_Atomic",
		"_Bool",
		"_Complex",
		"_Generic",
		"_Imaginary",
		"_Noreturn",
		"_Static_assert",
		"_Thread_local",
		/* what the generated file and its headers use */
		"think",
		"main",
		"mite_module",
		"mite__api",
		"asm",
		"typeof",
	};
	size_t n = strlen(name);

	if (n == 0 || n > 63 || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return 0;
	if (strncmp(name, "mite_", 5) == 0 || strncmp(name, "MITE_", 5) == 0 ||
	    (name[0] == '_' && (isupper((unsigned char)name[1]) || name[1] == '_')))
		return 0;
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		if (strcmp(name, taken[i]) == 0)
			return 0;
	return 1;
}
