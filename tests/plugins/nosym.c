/* nosym.c - a module with its ABI stamp but without a `journey` symbol. */
#include <mite/mite.h>

MITE_MODULE(NULL, NULL);

MITE_EXPORT int not_a_journey(mite_ctx *ctx, const mite_row *row);
int not_a_journey(mite_ctx *ctx, const mite_row *row)
{
	(void)ctx;
	(void)row;
	return 0;
}
