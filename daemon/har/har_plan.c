/*
 * har_plan.c - from the entries of a HAR recording to the requests and
 * transactions of a journey (har_plan.h, docs/har.md).
 */
#include "config.h"

#include "har/har_plan.h"
#include "har/har_cstr.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How far ahead a redirect's next hop is looked for: within so many
 * entries, starting at most HOP_DELAY seconds after the redirect ended (a
 * browser asks for it at once). */
#define HOP_WINDOW 64
#define HOP_DELAY 1.0
#define MAX_WARNINGS 20
#define MAX_LISTED_HOSTS 5
#define MAX_DISTINCT_HOSTS 1000

typedef struct planner {
	har_plan *p;
	const har *h;
	const har_opts *o;
	const char *file;
	FILE *warn;
	char *err;
	size_t errlen;
	int *next; /* per entry: the entry its redirect led to, or -1 */
	char *hop; /* per entry: a hop of a chain the session follows */
	const char **hosts; /* distinct hosts dropped as other hosts */
	size_t nhosts;
	int hosts_cut; /* ... and there were more than MAX_DISTINCT_HOSTS */
	/* transaction names taken: an open-addressing set; next is the
	 * suffix to try first when the name is taken again */
	struct name_slot {
		const char *name;
		int next;
	} * names;
	size_t names_cap;
} planner;

const char *har_plan_drop_name(har_drop d)
{
	static const char *const names[HAR_DROP_N] = {
		[HAR_DROP_SCHEME] = "not HTTP (data:, blob:, ...)",
		[HAR_DROP_WEBSOCKET] = "WebSocket (not converted)",
		[HAR_DROP_NORESPONSE] =
			"without a response (failed, blocked or cancelled in the browser)",
		[HAR_DROP_CACHE] = "answered by the browser's cache",
		[HAR_DROP_HOST] = "to other hosts",
		[HAR_DROP_TYPE] = "of a dropped type (--drop-type)",
		[HAR_DROP_STATIC] = "static assets (--drop-static)",
	};
	return d < HAR_DROP_N ? names[d] : "?";
}

static void warn(planner *pl, const har_entry *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warn(planner *pl, const har_entry *e, const char *fmt, ...)
{
	va_list ap;

	if (pl->p->warnings++ >= MAX_WARNINGS || !pl->warn)
		return;
	fprintf(pl->warn, "mitectl: warning: %s: log.entries[%zu]", pl->file, e->index);
	va_start(ap, fmt);
	vfprintf(pl->warn, fmt, ap);
	va_end(ap);
	fputc('\n', pl->warn);
}

/* ---- what is kept ------------------------------------------------------- */

static int matches(const char *s, const char *const *pats, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pats[i], s, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}

/* The host, or host:port (as origin has it), against the patterns. */
static int host_matches(const har_entry *e, const char *const *pats, size_t n)
{
	const char *auth = strstr(e->origin, "://") + 3;

	return matches(e->host, pats, n) || matches(auth, pats, n);
}

/* The media type of t, lowercased, without parameters, into buf. */
static const char *media_type(const char *t, char *buf, size_t len)
{
	size_t n = 0;

	for (; t && *t == ' '; t++)
		;
	for (; t && *t && *t != ';' && *t != ' ' && n + 1 < len; t++)
		buf[n++] = (char)(*t >= 'A' && *t <= 'Z' ? *t + 32 : *t);
	buf[n] = '\0';
	return buf;
}

static int static_type(const char *type)
{
	static const char *const pats[] = {
		"image/*",
		"font/*",
		"audio/*",
		"video/*",
		"text/css",
		"text/javascript",
		"application/javascript",
		"application/x-javascript",
		"application/ecmascript",
		"application/font-*",
		"application/x-font-*",
		"application/vnd.ms-fontobject",
		"application/wasm",
	};
	return *type && matches(type, pats, sizeof(pats) / sizeof(pats[0]));
}

static int static_path(const char *target)
{
	static const char *const exts[] = {
		".css",  ".js",   ".mjs", ".map",  ".png", ".jpg",  ".jpeg",  ".gif",
		".webp", ".avif", ".svg", ".ico",  ".bmp", ".woff", ".woff2", ".ttf",
		".otf",  ".eot",  ".mp4", ".webm", ".mp3", ".ogg",  ".wasm",
	};
	size_t n = strcspn(target, "?");

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t l = strlen(exts[i]);
		if (n > l && strncasecmp(target + n - l, exts[i], l) == 0)
			return 1;
	}
	return 0;
}

/* Whether entry e becomes a request: HAR_DROP_N when kept. */
static har_drop classify(const planner *pl, const har_entry *e)
{
	const har_opts *o = pl->o;
	char type[128];

	if (e->kind == HAR_WEBSOCKET)
		return HAR_DROP_WEBSOCKET;
	if (e->kind != HAR_HTTP)
		return HAR_DROP_SCHEME;
	if (e->status == 0)
		return HAR_DROP_NORESPONSE;
	if (e->from_cache)
		return HAR_DROP_CACHE;
	if (host_matches(e, o->drop_hosts, o->ndrop_hosts) ||
	    (strcasecmp(e->host, pl->p->base_host) != 0 &&
	     !host_matches(e, o->keep_hosts, o->nkeep_hosts)))
		return HAR_DROP_HOST;
	media_type(e->resp_type, type, sizeof(type));
	if (*type && o->ndrop_types && matches(type, o->drop_types, o->ndrop_types))
		return HAR_DROP_TYPE;
	if (o->drop_static && (static_type(type) || static_path(e->target)))
		return HAR_DROP_STATIC;
	return HAR_DROP_N;
}

/* ---- headers ------------------------------------------------------------ */

/* Headers mite, the session or the cookie jar set, or that describe the
 * browser's cache or connection rather than the request. */
static int managed_header(const char *name)
{
	static const char *const names[] = {
		"cookie",
		"host",
		"content-length",
		"connection",
		"keep-alive",
		"proxy-connection",
		"proxy-authorization",
		"transfer-encoding",
		"te",
		"trailer",
		"upgrade",
		"http2-settings",
		"accept-encoding",
		"expect",
		"if-none-match",
		"if-modified-since",
		"if-match",
		"if-unmodified-since",
		"if-range",
		"priority",
	};
	if (name[0] == ':')
		return 1; /* HTTP/2 pseudo-headers */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *s))
			return 0;
	return 1;
}

/* Whether header k of e can be sent; warns when it cannot. */
static int sendable(planner *pl, const har_entry *e, size_t k)
{
	const har_header *hd = &e->headers[k];

	if (managed_header(hd->name) ||
	    matches(hd->name, pl->o->drop_headers, pl->o->ndrop_headers))
		return 0;
	if (!is_token(hd->name)) {
		warn(pl, e, ".request.headers[%zu].name: not a header name: not sent", k);
		return 0;
	}
	for (const unsigned char *v = (const unsigned char *)hd->value; *v; v++)
		if ((*v < 0x20 && *v != '\t') || *v == 0x7f) {
			warn(pl, e,
			     ".request.headers[%zu].value: a control character (a line "
			     "break?): not sent",
			     k);
			return 0;
		}
	return 1;
}

static int has_header(const har_entry *e, const char *name)
{
	for (size_t k = 0; k < e->nheaders; k++)
		if (strcasecmp(e->headers[k].name, name) == 0)
			return 1;
	return 0;
}

static int step_headers(planner *pl, har_step *s)
{
	const har_entry *e = s->e;

	s->add_type = e->body_len && e->body_type && !has_header(e, "content-type");
	if (!e->nheaders)
		return 0;
	s->headers = calloc(e->nheaders, sizeof(*s->headers));
	if (!s->headers)
		return -ENOMEM;
	for (size_t k = 0; k < e->nheaders; k++)
		if (sendable(pl, e, k))
			s->headers[s->nheaders++] = &e->headers[k];
	return 0;
}

/* The one value step s sends for name, or NULL (none, or several). */
static const har_header *only_header(const har_step *s, const char *name)
{
	const har_header *found = NULL;

	for (size_t k = 0; k < s->nheaders; k++)
		if (strcasecmp(s->headers[k]->name, name) == 0) {
			if (found)
				return NULL;
			found = s->headers[k];
		}
	return found;
}

/* Whether every step sends h (same name, same value, once). */
static int everywhere(const har_plan *p, const har_header *h)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		const har_header *x = only_header(&p->steps[i], h->name);
		if (!x || strcmp(x->value, h->value) != 0)
			return 0;
	}
	return 1;
}

/* Headers every request sends become session defaults, so that each
 * request lists only what is its own. Content-Type stays with the body,
 * and an empty value with its request ("Name;" exists only there). */
static int common_headers(har_plan *p)
{
	har_step *first = &p->steps[0];

	if (p->nsteps < 2 || !first->nheaders)
		return 0;
	p->common = calloc(first->nheaders, sizeof(*p->common));
	if (!p->common)
		return -ENOMEM;
	for (size_t k = 0; k < first->nheaders; k++)
		if (strcasecmp(first->headers[k]->name, "content-type") != 0 &&
		    *first->headers[k]->value && everywhere(p, first->headers[k]))
			p->common[p->ncommon++] = first->headers[k];
	for (size_t i = 0; i < p->nsteps; i++) {
		har_step *s = &p->steps[i];
		size_t n = 0;

		for (size_t k = 0; k < s->nheaders; k++) {
			int common = 0;
			for (size_t c = 0; c < p->ncommon; c++)
				common |= strcasecmp(s->headers[k]->name, p->common[c]->name) == 0;
			if (!common)
				s->headers[n++] = s->headers[k];
		}
		s->nheaders = n;
	}
	return 0;
}

/* ---- redirects ---------------------------------------------------------- */

static int is_redirect(const har_entry *e)
{
	return e->kind == HAR_HTTP && e->location &&
		(e->status == 301 || e->status == 302 || e->status == 303 || e->status == 307 ||
		 e->status == 308);
}

/* Whether entry n is the request redirect r led the browser to. */
static int next_hop(const har_entry *r, const har_entry *n)
{
	size_t ol;

	if (n->kind != HAR_HTTP || n->start < r->start || n->start > r->start + r->time + HOP_DELAY)
		return 0;
	ol = strlen(n->origin);
	if (strncmp(r->location, n->origin, ol) != 0 || strcmp(r->location + ol, n->target) != 0)
		return 0;
	/* 307 and 308 keep the method; the others may turn it into GET. */
	return strcmp(n->method, r->method) == 0 ||
		((r->status < 307) && strcmp(n->method, "GET") == 0);
}

static void link_redirects(planner *pl)
{
	const har *h = pl->h;
	char *taken = pl->hop; /* borrowed as scratch: cleared below */

	for (size_t i = 0; i < h->nentries; i++) {
		pl->next[i] = -1;
		if (!is_redirect(&h->entries[i]))
			continue;
		for (size_t j = i + 1; j < h->nentries && j <= i + HOP_WINDOW; j++)
			if (!taken[j] && next_hop(&h->entries[i], &h->entries[j])) {
				pl->next[i] = (int)j;
				taken[j] = 1;
				break;
			}
	}
	memset(taken, 0, h->nentries);
}

/* The step entry i makes: a chain the session follows when every hop of it
 * was recorded and is kept, else the request alone. */
static void make_step(planner *pl, size_t i, har_step *s)
{
	const har *h = pl->h;
	size_t k = i, hops = 0;

	while (is_redirect(&h->entries[k]) && pl->next[k] >= 0 &&
	       classify(pl, &h->entries[pl->next[k]]) == HAR_DROP_N) {
		k = (size_t)pl->next[k];
		hops++;
	}
	s->e = &h->entries[i];
	s->relative = strcmp(s->e->origin, pl->p->base_origin) == 0;
	if (is_redirect(&h->entries[k])) {
		/* The chain breaks here: replay up to this hop only. */
		k = i;
		hops = 0;
	}
	s->follow = !is_redirect(&h->entries[k]);
	s->hops = hops;
	s->last = &h->entries[k];
	for (size_t j = i; j != k; j = (size_t)pl->next[j])
		pl->hop[pl->next[j]] = 1;
	s->expect = s->last->status == 304 ? 200 : s->last->status;
	s->was_304 = s->last->status == 304;
	if (hops > pl->p->max_hops)
		pl->p->max_hops = hops;
	pl->p->followed += hops;
}

/* ---- the base and the dropped hosts -------------------------------------- */

static int choose_base(planner *pl)
{
	const har *h = pl->h;

	for (size_t i = 0; i < h->nentries; i++) {
		const har_entry *e = &h->entries[i];
		if (e->kind == HAR_HTTP &&
		    (!pl->o->base_host || strcasecmp(e->host, pl->o->base_host) == 0)) {
			pl->p->base_host = e->host;
			pl->p->base_origin = strdup(e->origin);
			return pl->p->base_origin ? 0 : -ENOMEM;
		}
	}
	if (pl->o->base_host)
		snprintf(pl->err, pl->errlen, "%s: no request goes to host %s (--base-host)",
			 pl->file, pl->o->base_host);
	else
		snprintf(pl->err, pl->errlen, "%s: no http:// or https:// request in the recording",
			 pl->file);
	return -EINVAL;
}

/* Remembers e's host among the dropped ones (distinct, up to
 * MAX_DISTINCT_HOSTS). */
static int note_host(planner *pl, const har_entry *e)
{
	const char **n;

	for (size_t i = 0; i < pl->nhosts; i++)
		if (strcasecmp(pl->hosts[i], e->host) == 0)
			return 0;
	if (pl->nhosts == MAX_DISTINCT_HOSTS) {
		pl->hosts_cut = 1;
		return 0;
	}
	n = realloc(pl->hosts, (pl->nhosts + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	pl->hosts = n;
	pl->hosts[pl->nhosts++] = e->host;
	return 0;
}

/* "a.com, b.net and 3 more". */
static int list_hosts(planner *pl)
{
	size_t len = 32, n = pl->nhosts < MAX_LISTED_HOSTS ? pl->nhosts : MAX_LISTED_HOSTS, o = 0;
	char *s;

	if (!pl->nhosts)
		return 0;
	for (size_t i = 0; i < n; i++)
		len += strlen(pl->hosts[i]) + 2;
	if (!(s = malloc(len)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, len - o, "%s%s", i ? ", " : "", pl->hosts[i]);
	if (pl->nhosts > n)
		snprintf(s + o, len - o, " and %zu%s more", pl->nhosts - n,
			 pl->hosts_cut ? "+" : "");
	pl->p->other_hosts = s;
	return 0;
}

/* ---- steps -------------------------------------------------------------- */

static int make_steps(planner *pl)
{
	const har *h = pl->h;
	har_plan *p = pl->p;
	int rc;

	p->steps = calloc(h->nentries, sizeof(*p->steps));
	if (!p->steps)
		return -ENOMEM;
	link_redirects(pl);
	for (size_t i = 0; i < h->nentries; i++) {
		har_drop why;

		if (pl->hop[i])
			continue;
		why = classify(pl, &h->entries[i]);
		if (why != HAR_DROP_N) {
			p->dropped[why]++;
			if (why == HAR_DROP_HOST && (rc = note_host(pl, &h->entries[i])))
				return rc;
			continue;
		}
		make_step(pl, i, &p->steps[p->nsteps]);
		if ((rc = step_headers(pl, &p->steps[p->nsteps++])))
			return rc;
	}
	if ((rc = list_hosts(pl)))
		return rc;
	return p->nsteps ? common_headers(p) : 0;
}

/* ---- transactions ------------------------------------------------------- */

/* s, made a transaction name: control bytes as spaces, bad UTF-8 as '?',
 * cut at HAR_NAME_MAX bytes on a character boundary, trimmed. */
static void clean_name(char *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = har_cstr_utf8_seq(p + i, len - i);

		if (o + (n ? n : 1) > HAR_NAME_MAX)
			break;
		if (n > 1) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		out[o++] = n == 0 ? '?' : (p[i] < 0x20 || p[i] == 0x7f) ? ' ' : (char)p[i];
		i++;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	for (o = 0; out[o] == ' '; o++)
		;
	memmove(out, out + o, strlen(out + o) + 1);
}

/* What a transaction starting with step s is called, before the check for
 * duplicates: its page's title (or id), else the first request. */
static void base_name(const har *h, const har_step *s, char *out, size_t len)
{
	const har_entry *e = s->e;
	char raw[HAR_NAME_MAX * 2 + 32];

	if (e->page >= 0) {
		const har_page *pg = &h->pages[e->page];
		snprintf(raw, sizeof(raw), "%.*s", HAR_NAME_MAX * 2,
			 pg->title && *pg->title ? pg->title : pg->id);
	} else {
		snprintf(raw, sizeof(raw), "%s %.*s", e->method, (int)strcspn(e->target, "?"),
			 e->target);
	}
	clean_name(out, raw);
	if (!*out)
		snprintf(out, len, "page %d", e->page + 1);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of name in the set: where it is, or the free one it would take. */
static size_t name_slot(const planner *pl, const char *name)
{
	size_t i = hash(name) & (pl->names_cap - 1);

	while (pl->names[i].name && strcmp(pl->names[i].name, name) != 0)
		i = (i + 1) & (pl->names_cap - 1);
	return i;
}

/* Names the transaction: its base name, or "base (2)", "base (3)", ...
 * when that is taken. The set holds at most half its slots. */
static int name_txn(planner *pl, har_txn *t)
{
	char base[HAR_NAME_MAX + 1], name[HAR_NAME_MAX + 32];
	size_t slot, bslot;
	int k;

	base_name(pl->h, &pl->p->steps[t->first], base, sizeof(base));
	snprintf(name, sizeof(name), "%s", base);
	bslot = slot = name_slot(pl, name);
	for (k = pl->names[bslot].next; pl->names[slot].name; k++) {
		snprintf(name, sizeof(name), "%s (%d)", base, k);
		slot = name_slot(pl, name);
	}
	t->name = strdup(name);
	if (!t->name)
		return -ENOMEM;
	pl->names[slot].name = t->name;
	pl->names[slot].next = 2;
	if (slot != bslot)
		pl->names[bslot].next = k;
	return 0;
}

static double step_end(const har_step *s)
{
	double a = s->e->start + s->e->time, b = s->last->start + s->last->time;

	return a > b ? a : b;
}

/* A transaction per page, and a new one wherever the recording paused
 * longer than the gap; the pause is the think time before it. */
static int make_txns(planner *pl)
{
	har_plan *p = pl->p;
	double end = 0;
	int rc;

	p->txns = calloc(p->nsteps, sizeof(*p->txns));
	for (pl->names_cap = 16; pl->names_cap < 2 * p->nsteps; pl->names_cap *= 2)
		;
	pl->names = calloc(pl->names_cap, sizeof(*pl->names));
	if (!p->txns || !pl->names)
		return -ENOMEM;
	for (size_t i = 0; i < p->nsteps; i++) {
		const har_step *s = &p->steps[i];
		double pause = i ? s->e->start - end : 0;

		if (i == 0 || s->e->page != p->steps[i - 1].e->page || pause > pl->o->gap) {
			har_txn *t = &p->txns[p->ntxns];
			t->first = i;
			t->think = pause > 0 ? (double)(long long)(pause * 1000 + 0.5) / 1000 : 0;
			if (t->think > p->max_think)
				p->max_think = t->think;
			if ((rc = name_txn(pl, t)))
				return rc;
			p->ntxns++;
		}
		p->txns[p->ntxns - 1].n++;
		if (i == 0 || step_end(s) > end)
			end = step_end(s);
	}
	return 0;
}

int har_plan_make(har_plan *p, const har *h, const har_opts *o, const char *file, FILE *warnf,
		  char *err, size_t errlen)
{
	planner pl = {
		.p = p, .h = h, .o = o, .file = file, .warn = warnf, .err = err, .errlen = errlen
	};
	int rc;

	memset(p, 0, sizeof(*p));
	pl.next = calloc(h->nentries + 1, sizeof(*pl.next));
	pl.hop = calloc(h->nentries + 1, 1);
	rc = !pl.next || !pl.hop ? -ENOMEM : choose_base(&pl);
	if (!rc)
		rc = make_steps(&pl);
	if (!rc && p->nsteps)
		rc = make_txns(&pl);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", file);
	if (!rc && p->warnings > MAX_WARNINGS && warnf)
		fprintf(warnf, "mitectl: warning: %s: %zu more warnings\n", file,
			p->warnings - MAX_WARNINGS);
	free(pl.next);
	free(pl.hop);
	free(pl.hosts);
	free(pl.names);
	if (rc)
		har_plan_free(p);
	return rc;
}

void har_plan_free(har_plan *p)
{
	for (size_t i = 0; i < p->nsteps; i++)
		free(p->steps[i].headers);
	for (size_t i = 0; i < p->ntxns; i++)
		free(p->txns[i].name);
	free(p->steps);
	free(p->txns);
	free(p->common);
	free(p->base_origin);
	free(p->other_hosts);
	memset(p, 0, sizeof(*p));
}
