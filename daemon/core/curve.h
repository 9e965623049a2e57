/*
 * curve.h - CURVE key files for the runner link between hosts
 * (docs/distributed.md): `mitectl keygen NAME` writes NAME.key (the secret
 * key, mode 0600) and NAME.pub (the public key); a controller accepts the
 * hosts whose NAME.pub is in its authorized-keys folder. Both files hold one
 * line: the key in Z85 (40 characters). Lines starting with '#' are
 * comments. A secret key is never logged.
 */
#ifndef MITE_CORE_CURVE_H
#define MITE_CORE_CURVE_H

#include <stddef.h>

#define CURVE_Z85_LEN 40
/* The largest key file read (bytes): a key is 41. */
#define CURVE_FILE_MAX 4096
/* The most *.pub files an authorized-keys folder may hold; past it the
 * rest are not read and the refusal says so. */
#define CURVE_DIR_MAX 10000
/* A host's name: its .pub file's name without .pub, at most this long. */
#define CURVE_NAME_MAX 64

/* Writes NAME.key (0600) and NAME.pub (0644); refuses to overwrite either.
 * 0, or -1 with the reason in err. */
int curve_keygen(const char *name, char *err, size_t errlen);
/* Reads a secret key file into secret (z85) and its public key into pub
 * (z85; may be NULL). Refuses a key file others may read. 0 or -1 (err). */
int curve_read_secret(const char *path, char secret[CURVE_Z85_LEN + 1], char pub[CURVE_Z85_LEN + 1],
		      char *err, size_t errlen);
/* Reads a public key file (z85). 0 or -1 (err). */
int curve_read_public(const char *path, char pub[CURVE_Z85_LEN + 1], char *err, size_t errlen);
/* Looks the 32-byte public key up among dir's *.pub files: 1 when found
 * (its name, the file name without .pub, in name), 0 when not (why in
 * reason), -1 when the folder cannot be read (why in reason). */
int curve_authorized(const char *dir, const unsigned char key[32], char *name, size_t namelen,
		     char *reason, size_t reasonlen);

#endif
