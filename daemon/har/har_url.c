/*
 * har_url.c - splitting, normalising and resolving the URLs of a HAR file
 * (har_url.h).
 */
#include "config.h"

#include "har/har_url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int har_url_scheme(const char *url, char *buf, size_t len)
{
	size_t n = 0;

	if (!isalpha((unsigned char)url[0]))
		return -EINVAL;
	while (isalnum((unsigned char)url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.')
		n++;
	if (url[n] != ':' || n >= len)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)url[i]);
	buf[n] = '\0';
	return 0;
}

static int needs_escape(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c) != NULL;
}

char *har_url_encode(const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	char *out, *o;

	for (size_t i = 0; i < len; i++)
		n += needs_escape((unsigned char)s[i]) ? 3 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (needs_escape(c)) {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

/* Checks an authority's host and port; lowercases it in place. Returns a
 * static reason, or NULL when it is good. */
static const char *check_authority(char *a, size_t *host_len)
{
	char *colon;

	if (!*a)
		return "no host";
	if (strchr(a, '@'))
		return "user info in the URL is not supported";
	for (char *p = a; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x80)
			return "the host is not ASCII (record its punycode name)";
		if (!isalnum(c) && !strchr("-._~[]:", c))
			return "a bad character in the host";
		*p = (char)tolower(c);
	}
	colon = a[0] == '[' ? strchr(a, ']') : a;
	if (!colon)
		return "an unterminated IPv6 address";
	colon = strchr(colon, ':');
	*host_len = colon ? (size_t)(colon - a) : strlen(a);
	if (*host_len == 0)
		return "no host";
	if (colon) {
		char *end;
		long port = strtol(colon + 1, &end, 10);

		if (!isdigit((unsigned char)colon[1]) || *end || port < 1 || port > 65535)
			return "a bad port";
	}
	return NULL;
}

/* Drops ":80" from http and ":443" from https. */
static void drop_default_port(const char *scheme, char *a, size_t host_len)
{
	const char *port = a[host_len] == ':' ? a + host_len + 1 : NULL;

	if (port &&
	    ((strcmp(scheme, "http") == 0 && strcmp(port, "80") == 0) ||
	     (strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0)))
		a[host_len] = '\0';
}

/* The target of rest (what follows the authority): up to the fragment,
 * "/" first when it starts with '?' or is empty. */
static char *make_target(const char *rest)
{
	size_t n = strcspn(rest, "#");
	char *t, *enc;

	if (n > 0 && rest[0] == '/')
		return har_url_encode(rest, n);
	enc = har_url_encode(rest, n);
	if (!enc)
		return NULL;
	t = malloc(strlen(enc) + 2);
	if (t) {
		t[0] = '/';
		memcpy(t + 1, enc, strlen(enc) + 1);
	}
	free(enc);
	return t;
}

int har_url_split(const char *url, char **origin, char **host, char **target, const char **why)
{
	char scheme[8], auth[512];
	const char *a, *rest;
	size_t alen, host_len = 0;
	int n;

	*origin = *host = *target = NULL;
	if (har_url_scheme(url, scheme, sizeof(scheme)) < 0 ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		*why = "not an http:// or https:// URL";
		return -EINVAL;
	}
	a = url + strlen(scheme) + 1;
	if (a[0] != '/' || a[1] != '/') {
		*why = "no \"//\" after the scheme";
		return -EINVAL;
	}
	a += 2;
	alen = strcspn(a, "/?#");
	if (alen >= sizeof(auth)) {
		*why = "the host and port are longer than 511 bytes";
		return -EINVAL;
	}
	memcpy(auth, a, alen);
	auth[alen] = '\0';
	if ((*why = check_authority(auth, &host_len)))
		return -EINVAL;
	drop_default_port(scheme, auth, host_len);
	rest = a + alen;
	n = asprintf(origin, "%s://%s", scheme, auth);
	*host = strndup(auth, host_len);
	*target = make_target(rest);
	if (n < 0 || !*host || !*target) {
		if (n < 0)
			*origin = NULL;
		free(*origin);
		free(*host);
		free(*target);
		*origin = *host = *target = NULL;
		*why = "out of memory";
		return -ENOMEM;
	}
	return 0;
}

/* origin + target, or NULL. */
static char *join(const char *origin, const char *target, size_t tlen)
{
	char *s;

	if (asprintf(&s, "%s%.*s", origin, (int)tlen, target) < 0)
		return NULL;
	return s;
}

/* An absolute URL (scheme or "//") as origin + target, or NULL. */
static char *resolve_absolute(const char *origin, const char *loc)
{
	char *o, *h, *t, *s = NULL, *url = NULL;
	const char *why;

	if (loc[0] == '/') {
		/* "//host/path": the request's scheme. */
		size_t sl = strcspn(origin, ":");
		if (asprintf(&url, "%.*s:%s", (int)sl, origin, loc) < 0)
			return NULL;
		loc = url;
	}
	if (har_url_split(loc, &o, &h, &t, &why) == 0) {
		s = join(o, t, strlen(t));
		free(o);
		free(h);
		free(t);
	}
	free(url);
	return s;
}

char *har_url_resolve(const char *origin, const char *target, const char *loc)
{
	char scheme[16], *rel, *enc, *s;
	size_t keep;

	if (!*loc)
		return NULL;
	if (har_url_scheme(loc, scheme, sizeof(scheme)) == 0 || (loc[0] == '/' && loc[1] == '/'))
		return resolve_absolute(origin, loc);
	if (loc[0] == '/')
		keep = 0;
	else if (loc[0] == '?')
		keep = strcspn(target, "?");
	else if (loc[0] == '#')
		keep = strlen(target);
	else
		keep = (size_t)(strrchr(target, '/') - target) + 1; /* targets start with '/' */
	if (asprintf(&rel, "%.*s%s", (int)keep, target, loc) < 0)
		return NULL;
	enc = make_target(rel);
	free(rel);
	if (!enc)
		return NULL;
	s = join(origin, enc, strlen(enc));
	free(enc);
	return s;
}
