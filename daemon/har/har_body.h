/*
 * har_body.h - request bodies of a HAR file: base64 text decoded, and
 * form parameters (postData.params without text) encoded as a browser
 * would send them.
 */
#ifndef MITE_HAR_BODY_H
#define MITE_HAR_BODY_H

#include <stddef.h>

/* Decodes base64 (RFC 4648, padding optional, whitespace skipped) into a
 * malloc'ed buffer of *outlen bytes (the caller's). Returns 0, -EINVAL
 * when s is not base64, -E2BIG when the result would exceed max bytes,
 * or -ENOMEM. */
int har_body_base64(const char *s, unsigned char **out, size_t *outlen, size_t max);

/* Appends "name=value" (preceded by '&' unless *len is 0) to the growing
 * buffer *buf of *len bytes, both percent-encoded as
 * application/x-www-form-urlencoded (space as '+'). Returns 0, -E2BIG when
 * the result would exceed max bytes, or -ENOMEM. */
int har_body_form_add(char **buf, size_t *len, const char *name, const char *value, size_t max);

#endif
