/*
 * curve.c - CURVE key files (see curve.h). Keys are made by libzmq
 * (zmq_curve_keypair, libsodium underneath); only the files are ours.
 */
#include "config.h"

#include "core/curve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* Writes text to path, created (never replaced) with mode. 0 or -errno. */
static int write_new(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			unlink(path);
			return -e;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0) {
		int e = errno;
		unlink(path);
		return -e;
	}
	return 0;
}

int curve_keygen(const char *name, char *err, size_t errlen)
{
	char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1];
	char kpath[4096], ppath[4096], text[256];
	int rc;

	if (!name || !*name) {
		snprintf(err, errlen, "keygen: a NAME is needed");
		return -1;
	}
	if (snprintf(kpath, sizeof(kpath), "%s.key", name) >= (int)sizeof(kpath) ||
	    snprintf(ppath, sizeof(ppath), "%s.pub", name) >= (int)sizeof(ppath)) {
		snprintf(err, errlen, "keygen: %s: name longer than %zu bytes", name,
			 sizeof(kpath) - 5);
		return -1;
	}
	/* Both checked first: never a .key without its .pub. */
	if (access(kpath, F_OK) == 0 || access(ppath, F_OK) == 0) {
		snprintf(err, errlen, "keygen: %s exists; not overwritten",
			 access(kpath, F_OK) == 0 ? kpath : ppath);
		return -1;
	}
	if (zmq_curve_keypair(pub, sec) != 0) {
		snprintf(err, errlen,
			 "keygen: zmq_curve_keypair failed: %s (libzmq without CURVE?)",
			 zmq_strerror(errno));
		return -1;
	}
	snprintf(text, sizeof(text), "%s\n", sec);
	if ((rc = write_new(kpath, text, 0600)) < 0) {
		snprintf(err, errlen, "keygen: cannot write %s: %s", kpath, strerror(-rc));
		goto fail;
	}
	snprintf(text, sizeof(text), "%s\n", pub);
	if ((rc = write_new(ppath, text, 0644)) < 0) {
		snprintf(err, errlen, "keygen: cannot write %s: %s", ppath, strerror(-rc));
		unlink(kpath);
		goto fail;
	}
	memset(sec, 0, sizeof(sec));
	memset(text, 0, sizeof(text));
	return 0;
fail:
	memset(sec, 0, sizeof(sec));
	memset(text, 0, sizeof(text));
	return -1;
}

/* The key line of a key file: the first line that is not empty nor a
 * comment, which must be 40 Z85 characters that decode. 0 or -1 (err). */
static int read_key(const char *path, int secret, char out[CURVE_Z85_LEN + 1], char *err,
		    size_t errlen)
{
	char buf[CURVE_FILE_MAX + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (secret && (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: a secret key others may read (mode %04o); chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > CURVE_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 n < 0 ? strerror(errno) : "longer than 4096 bytes: not a key file");
		return -1;
	}
	buf[n] = '\0';
	int line = 0;
	for (char *p = buf; p && *p;) {
		char *nl = strchr(p, '\n');
		line++;
		if (nl)
			*nl = '\0';
		size_t len = strlen(p);
		if (len && p[len - 1] == '\r')
			p[--len] = '\0';
		if (len && p[0] != '#') {
			unsigned char bin[32];
			if (len != CURVE_Z85_LEN || !zmq_z85_decode(bin, p)) {
				snprintf(err, errlen,
					 "%s:%d: not a CURVE key (40 Z85 characters expected)",
					 path, line);
				memset(buf, 0, sizeof(buf));
				return -1;
			}
			memcpy(out, p, CURVE_Z85_LEN + 1);
			memset(buf, 0, sizeof(buf));
			memset(bin, 0, sizeof(bin));
			return 0;
		}
		p = nl ? nl + 1 : NULL;
	}
	snprintf(err, errlen, "%s: no key in it", path);
	return -1;
}

int curve_read_secret(const char *path, char secret[CURVE_Z85_LEN + 1], char pub[CURVE_Z85_LEN + 1],
		      char *err, size_t errlen)
{
	if (read_key(path, 1, secret, err, errlen) < 0)
		return -1;
	if (pub && zmq_curve_public(pub, secret) != 0) {
		snprintf(err, errlen, "%s: cannot derive its public key: %s", path,
			 zmq_strerror(errno));
		memset(secret, 0, CURVE_Z85_LEN + 1);
		return -1;
	}
	return 0;
}

int curve_read_public(const char *path, char pub[CURVE_Z85_LEN + 1], char *err, size_t errlen)
{
	return read_key(path, 0, pub, err, errlen);
}

int curve_authorized(const char *dir, const unsigned char key[32], char *name, size_t namelen,
		     char *reason, size_t reasonlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(reason, reasonlen, "authorized keys %s: %s", dir, strerror(errno));
		return -1;
	}
	int seen = 0, found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len <= 4 || strcmp(e->d_name + len - 4, ".pub") != 0 || e->d_name[0] == '.')
			continue;
		if (++seen > CURVE_DIR_MAX)
			break;
		char path[4096], pub[CURVE_Z85_LEN + 1], why[512];
		unsigned char bin[32];
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (read_key(path, 0, pub, why, sizeof(why)) < 0 || !zmq_z85_decode(bin, pub))
			continue; /* a bad file authorizes nobody */
		if (memcmp(bin, key, 32) == 0) {
			found = 1;
			snprintf(name, namelen, "%.*s",
				 (int)(len - 4 > CURVE_NAME_MAX ? CURVE_NAME_MAX : len - 4),
				 e->d_name);
		}
	}
	closedir(d);
	if (found)
		return 1;
	if (seen > CURVE_DIR_MAX)
		snprintf(reason, reasonlen, "key not among the first %d *.pub files of %s",
			 CURVE_DIR_MAX, dir);
	else
		snprintf(reason, reasonlen, "key not in %s (no matching *.pub)", dir);
	return 0;
}
