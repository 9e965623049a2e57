/*
 * fuzz_module_split.c - module_split on any "module.so:symbol" spec, with
 * buffers of any size from 1 byte up (the first input byte picks them).
 *
 * Checks the contract: either both parts, NUL-terminated, that put back
 * together with a ':' give the spec; or -EINVAL with a one-line reason and
 * nothing written past the buffers.
 */
#include "core/module.h"
#include "fuzz.h"

#include <errno.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pathlen, symlen, errlen;
	char *spec, *path, *sym, *err;
	int rc;

	if (size < 1)
		return 0;
	/* Exact-size heap buffers, so that ASan sees a byte written past. */
	pathlen = 1 + (data[0] & 0x3f);
	symlen = 1 + (data[0] >> 6) * 20;
	errlen = 1 + (size_t)(data[0] & 0x7) * 40;
	spec = malloc(size);
	path = malloc(pathlen);
	sym = malloc(symlen);
	err = malloc(errlen);
	if (!spec || !path || !sym || !err)
		goto out;
	memcpy(spec, data + 1, size - 1);
	spec[size - 1] = '\0';
	err[0] = '\0';
	rc = module_split(spec, path, pathlen, sym, symlen, err, errlen);
	if (rc == 0) {
		size_t plen = strlen(path);

		if (!plen || !sym[0] || strncmp(spec, path, plen) != 0 || spec[plen] != ':' ||
		    strcmp(spec + plen + 1, sym) != 0 || strchr(sym, ':')) {
			fprintf(stderr, "fuzz: module_split(\"%s\") gave \"%s\" and \"%s\"\n", spec,
				path, sym);
			abort();
		}
	} else if (rc != -EINVAL) {
		fprintf(stderr, "fuzz: module_split returned %d\n", rc);
		abort();
	} else if (errlen > 1) {
		fuzz_check_error("module_split", err, data, size);
	}
	/* The same spec with no room for a reason at all. */
	module_split(spec, path, pathlen, sym, symlen, NULL, 0);
out:
	free(spec);
	free(path);
	free(sym);
	free(err);
	return 0;
}
