/*
 * badabi.c - a module stamped for ABI 999, written out by hand as an older
 * or newer SDK would have produced it. Its constructor leaves a marker file
 * (named by $MITE_TEST_MARKER) behind: the loader must refuse the module
 * before any of its code runs, so the marker must never appear.
 */
#include <fcntl.h>
#include <mite/mite.h>
#include <stdlib.h>
#include <unistd.h>


const mite_api *mite__api __attribute__((visibility("hidden")));

MITE_EXPORT const mite_module_info mite_module = {
	.magic = MITE_MODULE_MAGIC,
	.abi_version = 999,
	.size = sizeof(mite_module_info),
	.sdk_version = "99.0.0",
	.api = &mite__api,
};

__attribute__((constructor)) static void badabi_ran(void)
{
	const char *marker = getenv("MITE_TEST_MARKER");
	int fd;

	if (!marker)
		return;
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

MITE_EXPORT int journey(mite_ctx *ctx, const mite_row *row);
int journey(mite_ctx *ctx, const mite_row *row)
{
	(void)ctx;
	(void)row;
	return 0;
}
