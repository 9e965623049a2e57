/*
 * module.h - loading plugin modules named "module.so:symbol".
 *
 * A module is opened with dlopen(RTLD_NOW | RTLD_LOCAL) only after its ELF
 * file has been read to check the `mite_module` descriptor's magic and ABI
 * version, so that no code of a module built for another ABI ever runs
 * (not even its constructors). Then the SDK function table is stored into
 * the module.
 */
#ifndef MITE_CORE_MODULE_H
#define MITE_CORE_MODULE_H

#include <mite/mite.h>
#include <stddef.h>

typedef struct module module;

/* Splits "path.so:symbol" at its last ':' into path and symbol. Returns 0,
 * or -EINVAL with a reason in err (no ':', empty path or symbol, too long). */
int module_split(const char *spec, char *path, size_t pathlen, char *sym, size_t symlen, char *err,
		 size_t errlen);

/* Finds the file of a module path: an absolute path as it is; a relative
 * one against base_dir (the scenario's folder) first, then each of
 * plugin_dirs (NULL-terminated, may be NULL). When allow_any is 0 the
 * result must lie inside one of plugin_dirs (or base_dir when plugin_dirs is
 * NULL). Writes the canonical path into out. 0 or -errno with err set. */
int module_find(const char *path, const char *base_dir, const char *const *plugin_dirs,
		int allow_any, char *out, size_t outlen, char *err, size_t errlen);

/* Opens (or reuses: modules are refcounted by path) the module at path,
 * checks its descriptor, and hands it `api`. NULL with a one-line reason in
 * err: "cannot open X: <dlerror>", "X has no mite_module descriptor (missing
 * MITE_MODULE?)", "X was built for mite ABI N; this mite speaks ABI M". */
module *module_open(const char *path, const mite_api *api, char *err, size_t errlen);
/* The address of symbol, or NULL with "X has no symbol 'S'" in err. */
void *module_sym(module *m, const char *symbol, char *err, size_t errlen);
/* module_sym, and the symbol must be a function (func != 0: journeys,
 * volume models) or a data object (func == 0: datapool plugins); else NULL
 * with "X: 'S' is not a function" / "... is not a data object" in err. */
void *module_sym_typed(module *m, const char *symbol, int func, char *err, size_t errlen);
const mite_module_info *module_info(const module *m);
const char *module_path(const module *m);
/* Drops one reference; the last one dlcloses. */
void module_close(module *m);

#endif
