/* test_module.c - the module loader: names, lookup, ABI check before any
 * module code runs, refcounts, symbols. */
#include "testpaths.h"

#include "core/module.h"
#include <mite/datapool.h>

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>

static int fake_calls;
static int fake_row_out_add(struct mite_row_out *out, const char *v)
{
	(void)out;
	(void)v;
	return ++fake_calls;
}
static const mite_api fake_api = {
	.abi_version = MITE_ABI_VERSION,
	.size = sizeof(mite_api),
	.row_out_add = fake_row_out_add,
};

static char tmp[PATH_MAX];

static void mk_tmp(void)
{
	tp_mkdtemp(tmp, sizeof(tmp));
}

static void rm_tmp(void)
{
	tp_rmrf(tmp);
}

/* Copies a test plugin into the scratch folder, under another name. */
static const char *copy_plugin(char *buf, size_t len, const char *name, const char *as)
{
	char src[PATH_MAX];

	tp_plugin(src, sizeof(src), name);
	tp_join(buf, len, tmp, as);
	cr_assert_eq(tp_copy(src, buf), 0, "copy %s", src);
	return buf;
}

Test(module, split)
{
	char path[64], sym[32], err[256];

	cr_assert_eq(
		module_split("a/b.so:fn", path, sizeof(path), sym, sizeof(sym), err, sizeof(err)),
		0);
	cr_assert_str_eq(path, "a/b.so");
	cr_assert_str_eq(sym, "fn");
	/* The last ':' splits, so a path may hold one. */
	cr_assert_eq(
		module_split("c:/x.so:j", path, sizeof(path), sym, sizeof(sym), err, sizeof(err)),
		0);
	cr_assert_str_eq(path, "c:/x.so");
	cr_assert_str_eq(sym, "j");

	cr_assert_eq(module_split("x.so", path, sizeof(path), sym, sizeof(sym), err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "'x.so' names no symbol (expected \"module.so:symbol\")");
	cr_assert_eq(module_split("x.so:", path, sizeof(path), sym, sizeof(sym), err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "'x.so:' names no symbol (expected \"module.so:symbol\")");
	cr_assert_eq(module_split(":fn", path, sizeof(path), sym, sizeof(sym), err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "':fn' names no module (expected \"module.so:symbol\")");
	cr_assert_eq(module_split("", path, sizeof(path), sym, sizeof(sym), err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(module_split("x.so:abcdefghijklmnopqrstuvwxyz0123456789", path, sizeof(path),
				  sym, sizeof(sym), err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(module_split(NULL, path, sizeof(path), sym, sizeof(sym), err, sizeof(err)),
		     -EINVAL);
}

Test(module, find, .init = mk_tmp, .fini = rm_tmp)
{
	char so[PATH_MAX], out[PATH_MAX], err[3 * PATH_MAX], expect[3 * PATH_MAX], other[PATH_MAX];
	const char *dirs[] = { NULL, NULL };

	copy_plugin(so, sizeof(so), "good", "m.so");
	tp_join(other, sizeof(other), tmp, "sub");
	cr_assert_eq(mkdir(other, 0755), 0);

	/* Relative against the base folder; then the plugin folders. */
	cr_assert_eq(module_find("m.so", tmp, NULL, 0, out, sizeof(out), err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(out, so);
	dirs[0] = tmp;
	cr_assert_eq(module_find("m.so", other, dirs, 0, out, sizeof(out), err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(out, so);
	/* Absolute, and canonicalised. */
	snprintf(expect, sizeof(expect), "%s/sub/../m.so", tmp);
	cr_assert_eq(module_find(expect, NULL, NULL, 1, out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_eq(out, so);

	/* Not found: says where it looked. */
	cr_assert_eq(module_find("nope.so", other, dirs, 0, out, sizeof(out), err, sizeof(err)),
		     -ENOENT);
	snprintf(expect, sizeof(expect), "cannot find module 'nope.so' (looked in: %s, %s)", other,
		 tmp);
	cr_assert_str_eq(err, expect);
	cr_assert_eq(module_find("/no/such.so", NULL, NULL, 1, out, sizeof(out), err, sizeof(err)),
		     -ENOENT);
	cr_assert_str_eq(err, "cannot find module '/no/such.so': No such file or directory");
	/* A folder is not a module. */
	cr_assert_eq(module_find("sub", tmp, NULL, 1, out, sizeof(out), err, sizeof(err)), -ENOENT);

	/* Containment: found in the base folder, but only plugin folders may
	 * hold modules when some are configured. */
	dirs[0] = other;
	cr_assert_eq(module_find("m.so", tmp, dirs, 0, out, sizeof(out), err, sizeof(err)),
		     -EACCES);
	snprintf(expect, sizeof(expect),
		 "module 'm.so' (%s) lies outside the plugin folders (%s) and loading from any "
		 "path is not allowed",
		 so, other);
	cr_assert_str_eq(err, expect);
	cr_assert_eq(module_find("m.so", tmp, dirs, 1, out, sizeof(out), err, sizeof(err)), 0);
	/* ../ does not escape. */
	cr_assert_eq(module_find("../m.so", other, NULL, 0, out, sizeof(out), err, sizeof(err)),
		     -EACCES);
	/* Nor does a symlink inside the folder that points out of it. */
	tp_join(expect, sizeof(expect), other, "link.so");
	cr_assert_eq(symlink(so, expect), 0);
	cr_assert_eq(module_find("link.so", other, NULL, 0, out, sizeof(out), err, sizeof(err)),
		     -EACCES);
	unlink(expect);
	rmdir(other);
	/* Too small an output buffer. */
	cr_assert_eq(module_find("m.so", tmp, NULL, 0, out, 4, err, sizeof(err)), -ENAMETOOLONG);
}

Test(module, open_good_stores_api_and_refcounts)
{
	char path[PATH_MAX], err[1024];
	module *m, *m2;
	const mite_module_info *info;
	const mite_datapool_plugin *pl;

	tp_plugin(path, sizeof(path), "good");
	m = module_open(path, &fake_api, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	info = module_info(m);
	cr_assert_eq(info->magic, MITE_MODULE_MAGIC);
	cr_assert_eq(info->abi_version, MITE_ABI_VERSION);
	cr_assert_str_eq(info->sdk_version, MITE_SDK_VERSION);
	cr_assert_eq(*info->api, &fake_api, "the table is stored into the module");
	cr_assert_str_eq(module_path(m), path);

	/* The module's own code reaches the table. */
	pl = module_sym_typed(m, "pool", 0, err, sizeof(err));
	cr_assert_not_null(pl, "%s", err);
	{
		void *st = pl->open(NULL, err, sizeof(err));
		char perr[64];
		cr_assert_not_null(st);
		cr_assert_eq(pl->next(st, NULL, perr, sizeof(perr)), 2);
		cr_assert_eq(fake_calls, 2);
		pl->close(st);
	}

	/* Same file by another spelling: the same module. */
	{
		char dir[PATH_MAX], other[PATH_MAX + 32];
		snprintf(other, sizeof(other), "%s/../plugins/good.so",
			 tp_join(dir, sizeof(dir), tp_builddir(), "tests/plugins"));
		m2 = module_open(other, NULL, err, sizeof(err));
	}
	cr_assert_eq(m2, m);
	cr_assert_eq(*info->api, &fake_api, "a NULL table leaves the stored one");
	module_close(m2);
	/* Still open: one reference left. */
	cr_assert_not_null(module_sym(m, "journey", err, sizeof(err)));
	tp_plugin(path, sizeof(path), "good");
	{
		/* RTLD_NOLOAD still takes a reference when it succeeds. */
		void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
		cr_assert_not_null(h, "still loaded");
		dlclose(h);
	}
	module_close(m);
	cr_assert_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD), "unloaded with its last reference");
	module_close(NULL);
}

Test(module, symbols)
{
	char path[PATH_MAX], err[1024], expect[PATH_MAX + 128];
	module *m;

	tp_plugin(path, sizeof(path), "good");
	m = module_open(path, NULL, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_not_null(module_sym(m, "journey", err, sizeof(err)));
	cr_assert_not_null(module_sym_typed(m, "journey", 1, err, sizeof(err)));
	cr_assert_not_null(module_sym_typed(m, "spike", 1, err, sizeof(err)));

	cr_assert_null(module_sym(m, "nope", err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s has no symbol 'nope'", path);
	cr_assert_str_eq(err, expect);
	cr_assert_null(module_sym_typed(m, "pool", 1, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s: 'pool' is not a function", path);
	cr_assert_str_eq(err, expect);
	cr_assert_null(module_sym_typed(m, "journey", 0, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s: 'journey' is not a data object", path);
	cr_assert_str_eq(err, expect);
	/* Hidden symbols are not exported. */
	cr_assert_null(module_sym(m, "mite__api", err, sizeof(err)));
	module_close(m);
}

Test(module, nosym)
{
	char path[PATH_MAX], err[1024], expect[PATH_MAX + 128];
	module *m;

	tp_plugin(path, sizeof(path), "nosym");
	m = module_open(path, &fake_api, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_null(module_sym(m, "journey", err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s has no symbol 'journey'", path);
	cr_assert_str_eq(err, expect);
	module_close(m);
}

Test(module, crash_module_loads_without_running)
{
	char path[PATH_MAX], err[1024];
	module *m;

	tp_plugin(path, sizeof(path), "crash");
	m = module_open(path, &fake_api, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	cr_assert_not_null(module_sym_typed(m, "journey", 1, err, sizeof(err)));
	cr_assert_not_null(module_sym_typed(m, "overflow", 1, err, sizeof(err)));
	module_close(m);
}

Test(module, badabi_refused_before_any_code_runs, .init = mk_tmp, .fini = rm_tmp)
{
	char path[PATH_MAX], err[1024], expect[PATH_MAX + 128], marker[PATH_MAX];
	module *m;

	tp_join(marker, sizeof(marker), tmp, "constructor-ran");
	setenv("MITE_TEST_MARKER", marker, 1);
	tp_plugin(path, sizeof(path), "badabi");
	m = module_open(path, &fake_api, err, sizeof(err));
	cr_assert_null(m);
	snprintf(expect, sizeof(expect), "%s was built for mite ABI 999; this mite speaks ABI %d",
		 path, MITE_ABI_VERSION);
	cr_assert_str_eq(err, expect);
	cr_assert_neq(access(marker, F_OK), 0, "the module's constructor must not have run");
	cr_assert_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD), "never loaded");
}

/* The control for the test above: the marker does appear when the module
 * is loaded, so its absence there means something. */
Test(module, badabi_constructor_does_write_marker, .init = mk_tmp, .fini = rm_tmp)
{
	char path[PATH_MAX], marker[PATH_MAX];
	void *h;

	tp_join(marker, sizeof(marker), tmp, "constructor-ran");
	setenv("MITE_TEST_MARKER", marker, 1);
	tp_plugin(path, sizeof(path), "badabi");
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "%s", dlerror());
	cr_assert_eq(access(marker, F_OK), 0);
	dlclose(h);
}

/* Rewrites the first occurrence of `from` in a file with `to` (same size). */
static void patch_file(const char *path, const char *from, const char *to, size_t n)
{
	FILE *f = fopen(path, "r+b");
	static char buf[4 << 20];
	size_t len;

	cr_assert_not_null(f);
	len = fread(buf, 1, sizeof(buf), f);
	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(buf + i, from, n) == 0) {
			fseek(f, (long)i, SEEK_SET);
			cr_assert_eq(fwrite(to, 1, n, f), n);
			fclose(f);
			return;
		}
	}
	fclose(f);
	cr_assert_fail("pattern not found in %s", path);
}

Test(module, no_descriptor, .init = mk_tmp, .fini = rm_tmp)
{
	char so[PATH_MAX], err[1024], expect[PATH_MAX + 128];

	/* Rename the dynamic symbol: the module then has no descriptor. */
	copy_plugin(so, sizeof(so), "good", "nodesc.so");
	patch_file(so, "mite_module\0", "mite_modulX\0", 12);
	cr_assert_null(module_open(so, NULL, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s has no mite_module descriptor (missing MITE_MODULE?)",
		 so);
	cr_assert_str_eq(err, expect);
}

Test(module, wrong_magic, .init = mk_tmp, .fini = rm_tmp)
{
	char so[PATH_MAX], err[1024], expect[PATH_MAX + 128];
	const uint32_t magic = MITE_MODULE_MAGIC, other = 0x12345678;
	char from[8], to[8];
	const uint32_t abi = MITE_ABI_VERSION;

	copy_plugin(so, sizeof(so), "good", "magic.so");
	memcpy(from, &magic, 4);
	memcpy(from + 4, &abi, 4);
	memcpy(to, &other, 4);
	memcpy(to + 4, &abi, 4);
	patch_file(so, from, to, 8);
	cr_assert_null(module_open(so, NULL, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "%s has no mite_module descriptor (missing MITE_MODULE?)",
		 so);
	cr_assert_str_eq(err, expect);
}

Test(module, not_elf_and_wrong_class, .init = mk_tmp, .fini = rm_tmp)
{
	char p[PATH_MAX], err[1024], expect[PATH_MAX + 128];
	FILE *f;

	tp_write(tp_join(p, sizeof(p), tmp, "text.so"),
		 "not an ELF file at all, but long enough "
		 "to hold an ELF header's worth of bytes\n");
	cr_assert_null(module_open(p, NULL, err, sizeof(err)));
	snprintf(expect, sizeof(expect),
		 "cannot open %s: not a 64-bit ELF shared object for this machine", p);
	cr_assert_str_eq(err, expect);

	tp_write(p, "");
	cr_assert_null(module_open(p, NULL, err, sizeof(err)));
	cr_assert_str_eq(err, expect);

	/* A 32-bit class byte. */
	copy_plugin(p, sizeof(p), "good", "elf32.so");
	f = fopen(p, "r+b");
	fseek(f, EI_CLASS, SEEK_SET);
	fputc(1 /* ELFCLASS32 */, f);
	fclose(f);
	cr_assert_null(module_open(p, NULL, err, sizeof(err)));
	snprintf(expect, sizeof(expect),
		 "cannot open %s: not a 64-bit ELF shared object for this machine", p);
	cr_assert_str_eq(err, expect);

	cr_assert_null(module_open("/no/such/file.so", NULL, err, sizeof(err)));
	cr_assert_str_eq(err, "cannot open /no/such/file.so: No such file or directory");
	cr_assert_null(module_open("", NULL, err, sizeof(err)));
}

/* Truncated or corrupted files must be refused cleanly, never crash the
 * reader: cut a good module at many lengths. */
Test(module, truncated_files, .init = mk_tmp, .fini = rm_tmp)
{
	char src[PATH_MAX], p[PATH_MAX], err[1024];
	struct stat st;

	tp_plugin(src, sizeof(src), "good");
	cr_assert_eq(stat(src, &st), 0);
	copy_plugin(p, sizeof(p), "good", "cut.so");
	for (off_t len = 0; len < st.st_size; len += st.st_size / 97 + 1) {
		module *m;

		cr_assert_eq(truncate(p, len), 0);
		m = module_open(p, NULL, err, sizeof(err));
		cr_assert_null(m, "a module cut at %lld bytes opened", (long long)len);
		cr_assert_gt(strlen(err), 0);
		cr_assert_eq(tp_copy(src, p), 0);
	}
}

Test(module, dlopen_failure_reports_reason, .init = mk_tmp, .fini = rm_tmp)
{
	char so[PATH_MAX], err[1024];

	/* Point the module at a library that does not exist (same length as
	 * the libc name it needs). */
	copy_plugin(so, sizeof(so), "good", "deps.so");
	patch_file(so, "libc.so.6", "libq.so.6", 9);
	cr_assert_null(module_open(so, NULL, err, sizeof(err)));
	cr_assert(strncmp(err, "cannot open ", 12) == 0, "%s", err);
	cr_assert_not_null(strstr(err, "libq.so.6"), "%s", err);
}
