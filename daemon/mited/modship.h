/*
 * modship.h - journey modules shipped to runner hosts by SHA-256
 * (docs/distributed.md, Module shipping): the digest of a module file, and
 * the base64 its bytes travel in (host_module).
 */
#ifndef MITE_MITED_MODSHIP_H
#define MITE_MITED_MODSHIP_H

#include <stddef.h>
#include <stdint.h>

/* The largest module shipped (bytes): its base64 stays far below the
 * runner protocol's 128 MiB message bound. */
#define MODSHIP_MAX ((uint64_t)64 << 20)
#define MODSHIP_HEX 64 /* hex digits of a SHA-256 */

/* The SHA-256 (lowercase hex) and size of the file at path; with data
 * non-NULL, its bytes too (the caller frees them). 0, or -1 with err set
 * (unreadable, not a regular file, over MODSHIP_MAX). */
int modship_digest_file(const char *path, char hex[MODSHIP_HEX + 1], uint64_t *size,
			unsigned char **data, char *err, size_t errlen);
/* The SHA-256 of a buffer (lowercase hex). */
void modship_digest(const unsigned char *buf, size_t len, char hex[MODSHIP_HEX + 1]);
/* Whether s is 64 lowercase hex digits. */
int modship_hex_ok(const char *s);
/* Base64 of buf (NUL-terminated, the caller frees it), or NULL. */
char *modship_b64(const unsigned char *buf, size_t len);
/* The bytes of a base64 text (the caller frees them), or NULL when it is
 * not base64 or decodes to more than MODSHIP_MAX. */
unsigned char *modship_unb64(const char *text, size_t *len);

#endif
