/*
 * modship.c - digests and base64 for shipped modules (see modship.h), by
 * OpenSSL (a dependency already).
 */
#include "config.h"

#include "mited/modship.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void modship_digest(const unsigned char *buf, size_t len, char hex[MODSHIP_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[MODSHIP_HEX] = '\0';
}

int modship_hex_ok(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == MODSHIP_HEX;
}

int modship_digest_file(const char *path, char hex[MODSHIP_HEX + 1], uint64_t *size,
			unsigned char **data, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MODSHIP_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 S_ISREG(st.st_mode) ? "over the 64 MiB a shipped module may have"
					     : "not a regular file");
		close(fd);
		return -1;
	}
	size_t len = (size_t)st.st_size, off = 0;
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (off < len) {
		ssize_t r = read(fd, buf + off, len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: %s", path,
				 r < 0 ? strerror(errno) : "shorter than said");
			free(buf);
			close(fd);
			return -1;
		}
		off += (size_t)r;
	}
	close(fd);
	modship_digest(buf, len, hex);
	if (size)
		*size = len;
	if (data)
		*data = buf;
	else
		free(buf);
	return 0;
}

char *modship_b64(const unsigned char *buf, size_t len)
{
	size_t n = 4 * ((len + 2) / 3) + 1;
	char *out = malloc(n);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	return out;
}

unsigned char *modship_unb64(const char *text, size_t *len)
{
	size_t n = strlen(text);
	if (n % 4 || n / 4 * 3 > MODSHIP_MAX + 3)
		return NULL;
	unsigned char *out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	int r = EVP_DecodeBlock(out, (const unsigned char *)text, (int)n);
	if (r < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	size_t pad = n >= 2 ? (text[n - 1] == '=') + (text[n - 2] == '=') : 0;
	*len = (size_t)r - pad;
	return out;
}
