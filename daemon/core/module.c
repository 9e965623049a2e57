/*
 * module.c - loading plugin modules named "module.so:symbol".
 *
 * The ABI check reads the module's ELF file before dlopen: the dynamic
 * symbol `mite_module` is looked up in .dynsym/.dynstr, its address mapped
 * to a file offset through the program headers (or its section), and the
 * descriptor's first 8 bytes (magic, abi_version) read from the file. A
 * module of another ABI is thus refused before the dynamic loader runs any
 * of its code, constructors included.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr1 */
#endif
#include "core/module.h"
#include "core/util.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODULE_DESCRIPTOR "mite_module"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MODULE_ELFDATA ELFDATA2LSB
#else
#define MODULE_ELFDATA ELFDATA2MSB
#endif

/* Sanity bounds on what we read from a file we do not trust yet. */
#define MODULE_MAX_SECTIONS 65536u
#define MODULE_MAX_TABLE (256u * 1024 * 1024)

struct module {
	char *path; /* canonical */
	void *handle;
	const mite_module_info *info;
	unsigned refs;
	struct module *next;
};

/* Modules are shared by canonical path. The controller uses them from one
 * thread, but the foreground test modes run a controller and a runner in
 * one process, so the list is guarded. */
static struct module *module_list;
static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;

int module_split(const char *spec, char *path, size_t pathlen, char *sym, size_t symlen, char *err,
		 size_t errlen)
{
	const char *colon;
	size_t plen, slen;

	if (!spec || !*spec) {
		util_err(err, errlen, "empty module name (expected \"module.so:symbol\")");
		return -EINVAL;
	}
	colon = strrchr(spec, ':');
	if (!colon) {
		util_err(err, errlen, "'%s' names no symbol (expected \"module.so:symbol\")", spec);
		return -EINVAL;
	}
	plen = (size_t)(colon - spec);
	slen = strlen(colon + 1);
	if (plen == 0) {
		util_err(err, errlen, "'%s' names no module (expected \"module.so:symbol\")", spec);
		return -EINVAL;
	}
	if (slen == 0) {
		util_err(err, errlen, "'%s' names no symbol (expected \"module.so:symbol\")", spec);
		return -EINVAL;
	}
	if (plen >= pathlen || slen >= symlen) {
		util_err(err, errlen, "'%.64s...' is too long", spec);
		return -EINVAL;
	}
	memcpy(path, spec, plen);
	path[plen] = '\0';
	memcpy(sym, colon + 1, slen + 1);
	return 0;
}

/* Joins dir and name into buf; -ENAMETOOLONG when it does not fit. */
static int module_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Canonicalises candidate into out when it names a regular file. */
static int module_try(const char *candidate, char *out)
{
	struct stat st;

	if (!realpath(candidate, out))
		return -errno;
	if (stat(out, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	return 0;
}

/* Whether canonical file path lies under folder dir (canonicalised here). */
static int module_inside(const char *path, const char *dir)
{
	char real[PATH_MAX];
	size_t n;

	if (!dir || !realpath(dir, real))
		return 0;
	n = strlen(real);
	if (n == 1 && real[0] == '/')
		return 1;
	return strncmp(path, real, n) == 0 && path[n] == '/';
}

/* Appends ", s" (or "s" first) to a list being built in buf. */
static void module_list_add(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf);

	if (used >= len - 1)
		return;
	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", s);
}

int module_find(const char *path, const char *base_dir, const char *const *plugin_dirs,
		int allow_any, char *out, size_t outlen, char *err, size_t errlen)
{
	char cand[PATH_MAX], real[PATH_MAX], looked[1024] = "";
	int rc = -ENOENT, found = 0;
	int have_dirs = plugin_dirs && plugin_dirs[0];

	if (!path || !*path) {
		util_err(err, errlen, "empty module path");
		return -EINVAL;
	}
	if (path[0] == '/') {
		rc = module_try(path, real);
		if (rc < 0) {
			util_err(err, errlen, "cannot find module '%s': %s", path, strerror(-rc));
			return rc;
		}
		found = 1;
	} else {
		if (base_dir) {
			module_list_add(looked, sizeof(looked), base_dir);
			if (module_join(cand, sizeof(cand), base_dir, path) == 0 &&
			    module_try(cand, real) == 0)
				found = 1;
		}
		for (size_t i = 0; !found && plugin_dirs && plugin_dirs[i]; i++) {
			module_list_add(looked, sizeof(looked), plugin_dirs[i]);
			if (module_join(cand, sizeof(cand), plugin_dirs[i], path) == 0 &&
			    module_try(cand, real) == 0)
				found = 1;
		}
		if (!found) {
			util_err(err, errlen, "cannot find module '%s' (looked in: %s)", path,
				 *looked ? looked : "no folder");
			return -ENOENT;
		}
	}

	if (!allow_any) {
		int ok = 0;

		/* The canonical path is checked, so a symlink in a plugin
		 * folder that points elsewhere does not get through. */
		if (have_dirs) {
			for (size_t i = 0; !ok && plugin_dirs[i]; i++)
				ok = module_inside(real, plugin_dirs[i]);
		} else {
			ok = module_inside(real, base_dir);
		}
		if (!ok) {
			char dirs[1024] = "";

			if (have_dirs)
				for (size_t i = 0; plugin_dirs[i]; i++)
					module_list_add(dirs, sizeof(dirs), plugin_dirs[i]);
			else if (base_dir)
				module_list_add(dirs, sizeof(dirs), base_dir);
			util_err(
				err, errlen,
				"module '%s' (%s) lies outside the plugin folders (%s) and loading "
				"from any path is not allowed",
				path, real, *dirs ? dirs : "none configured");
			return -EACCES;
		}
	}

	if (strlen(real) >= outlen) {
		util_err(err, errlen, "module path '%s' is too long", real);
		return -ENAMETOOLONG;
	}
	memcpy(out, real, strlen(real) + 1);
	return 0;
}

/* ---- reading the descriptor from the ELF file ---------------------------- */

/* Reads exactly len bytes at off, refusing ranges outside the file. */
static int module_pread(int fd, off_t size, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off > (uint64_t)size || len > (uint64_t)size - off)
		return -ENOEXEC;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENOEXEC;
		done += (size_t)n;
	}
	return 0;
}

/* Allocates and reads a table of the file; -ENOEXEC when it is implausible. */
static int module_read_table(int fd, off_t size, uint64_t off, uint64_t len, void **out)
{
	void *buf;
	int rc;

	*out = NULL;
	if (len == 0 || len > MODULE_MAX_TABLE)
		return -ENOEXEC;
	buf = malloc((size_t)len);
	if (!buf)
		return -ENOMEM;
	rc = module_pread(fd, size, buf, (size_t)len, off);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* Maps a virtual address to a file offset, as the loader would: through the
 * PT_LOAD segments, and failing that through the symbol's own section. */
static int module_map_addr(int fd, off_t size, const Elf64_Ehdr *eh, const Elf64_Shdr *sh,
			   size_t shnum, const Elf64_Sym *sym, uint64_t *off)
{
	uint64_t v = sym->st_value;

	if (eh->e_phoff && eh->e_phnum && eh->e_phentsize == sizeof(Elf64_Phdr)) {
		for (size_t i = 0; i < eh->e_phnum; i++) {
			Elf64_Phdr ph;
			int rc = module_pread(fd, size, &ph, sizeof(ph),
					      eh->e_phoff + (uint64_t)i * sizeof(ph));
			if (rc < 0)
				return rc;
			if (ph.p_type != PT_LOAD || v < ph.p_vaddr)
				continue;
			if (ph.p_filesz < 8 || v - ph.p_vaddr > ph.p_filesz - 8)
				continue;
			*off = ph.p_offset + (v - ph.p_vaddr);
			return 0;
		}
	}
	if (sym->st_shndx < shnum) {
		const Elf64_Shdr *s = &sh[sym->st_shndx];

		/* In .bss the descriptor would be all zeroes: no valid magic. */
		if (s->sh_type != SHT_NOBITS && v >= s->sh_addr && s->sh_size >= 8 &&
		    v - s->sh_addr <= s->sh_size - 8) {
			*off = s->sh_offset + (v - s->sh_addr);
			return 0;
		}
	}
	return -ENOENT;
}

/* Reads magic and abi_version of `mite_module` from the file. 0; -ENOENT
 * when there is no such defined symbol; -ENOEXEC when the file is not a
 * 64-bit ELF object of this machine's byte order (or is malformed);
 * another -errno on I/O errors. */
static int module_read_descriptor(const char *path, uint32_t *magic, uint32_t *abi)
{
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	Elf64_Sym *syms = NULL;
	char *strs = NULL;
	struct stat st;
	size_t shnum, nsyms = 0, strsz = 0;
	uint64_t off;
	unsigned char head[8];
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	rc = module_pread(fd, st.st_size, &eh, sizeof(eh), 0);
	if (rc < 0)
		goto out;
	rc = -ENOEXEC;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != MODULE_ELFDATA || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    eh.e_shoff == 0)
		goto out;

	/* With 0xff00 sections or more, e_shnum is 0 and the real count is in
	 * the first section header's sh_size. */
	shnum = eh.e_shnum;
	if (shnum == 0) {
		Elf64_Shdr first;
		rc = module_pread(fd, st.st_size, &first, sizeof(first), eh.e_shoff);
		if (rc < 0)
			goto out;
		shnum = first.sh_size > MODULE_MAX_SECTIONS ? 0 : (size_t)first.sh_size;
		rc = -ENOEXEC;
		if (shnum == 0)
			goto out;
	}
	rc = module_read_table(fd, st.st_size, eh.e_shoff, (uint64_t)shnum * sizeof(Elf64_Shdr),
			       (void **)&sh);
	if (rc < 0)
		goto out;

	rc = -ENOENT;
	for (size_t i = 0; i < shnum; i++) {
		const Elf64_Shdr *strsh;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		if (sh[i].sh_entsize != sizeof(Elf64_Sym) || sh[i].sh_link >= shnum) {
			rc = -ENOEXEC;
			goto out;
		}
		strsh = &sh[sh[i].sh_link];
		rc = module_read_table(fd, st.st_size, sh[i].sh_offset, sh[i].sh_size,
				       (void **)&syms);
		if (rc < 0)
			goto out;
		rc = module_read_table(fd, st.st_size, strsh->sh_offset, strsh->sh_size,
				       (void **)&strs);
		if (rc < 0)
			goto out;
		nsyms = (size_t)(sh[i].sh_size / sizeof(Elf64_Sym));
		strsz = (size_t)strsh->sh_size;
		rc = -ENOENT;
		break;
	}

	for (size_t i = 1; i < nsyms; i++) {
		const Elf64_Sym *s = &syms[i];
		unsigned bind = ELF64_ST_BIND(s->st_info);

		if (s->st_name >= strsz || s->st_shndx == SHN_UNDEF)
			continue;
		if (bind != STB_GLOBAL && bind != STB_WEAK)
			continue;
		if (strnlen(strs + s->st_name, strsz - s->st_name) == strsz - s->st_name)
			continue; /* not NUL-terminated inside the table */
		if (strcmp(strs + s->st_name, MODULE_DESCRIPTOR) != 0)
			continue;
		if (s->st_size && s->st_size < 8)
			break; /* too small to be a descriptor */
		rc = module_map_addr(fd, st.st_size, &eh, sh, shnum, s, &off);
		if (rc < 0)
			goto out;
		rc = module_pread(fd, st.st_size, head, sizeof(head), off);
		if (rc < 0)
			goto out;
		/* The file has this machine's byte order (checked above). */
		memcpy(magic, head, 4);
		memcpy(abi, head + 4, 4);
		rc = 0;
		goto out;
	}
	rc = -ENOENT;
out:
	free(strs);
	free(syms);
	free(sh);
	close(fd);
	return rc;
}

/* dlerror() usually starts with the file's path; the message already names
 * it, so drop the repetition. */
static const char *module_dlerror(const char *path)
{
	const char *e = dlerror();
	size_t n = strlen(path);

	if (!e)
		return "unknown dlopen error";
	if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
		return e + n + 2;
	return e;
}

/* Checks a descriptor's magic and version; 0 or -ENOEXEC with err set. */
static int module_check(const char *path, uint32_t magic, uint32_t abi, char *err, size_t errlen)
{
	if (magic != MITE_MODULE_MAGIC) {
		util_err(err, errlen, "%s has no mite_module descriptor (missing MITE_MODULE?)",
			 path);
		return -ENOEXEC;
	}
	if (abi != MITE_ABI_VERSION) {
		util_err(err, errlen, "%s was built for mite ABI %u; this mite speaks ABI %d", path,
			 (unsigned)abi, MITE_ABI_VERSION);
		return -ENOEXEC;
	}
	return 0;
}

module *module_open(const char *path, const mite_api *api, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct module *m = NULL;
	const mite_module_info *info;
	uint32_t magic = 0, abi = 0;
	void *handle = NULL;
	int rc;

	if (!path || !*path) {
		util_err(err, errlen, "cannot open module: empty path");
		return NULL;
	}
	if (!realpath(path, real)) {
		util_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}

	pthread_mutex_lock(&module_lock);
	for (m = module_list; m; m = m->next) {
		if (strcmp(m->path, real) == 0) {
			m->refs++;
			if (api && m->info->api)
				*m->info->api = api;
			pthread_mutex_unlock(&module_lock);
			return m;
		}
	}

	rc = module_read_descriptor(real, &magic, &abi);
	if (rc == -ENOENT) {
		util_err(err, errlen, "%s has no mite_module descriptor (missing MITE_MODULE?)",
			 path);
		goto fail;
	}
	if (rc == -ENOEXEC) {
		util_err(err, errlen,
			 "cannot open %s: not a 64-bit ELF shared object for this machine", path);
		goto fail;
	}
	if (rc < 0) {
		util_err(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		goto fail;
	}
	if (module_check(path, magic, abi, err, errlen) < 0)
		goto fail;

	handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		util_err(err, errlen, "cannot open %s: %s", path, module_dlerror(real));
		goto fail;
	}
	dlerror();
	info = dlsym(handle, MODULE_DESCRIPTOR);
	if (!info) {
		util_err(err, errlen, "%s has no mite_module descriptor (missing MITE_MODULE?)",
			 path);
		goto fail;
	}
	/* Again in memory: the file may have changed between the two reads, and
	 * dlsym could in theory have found another object's descriptor. */
	if (module_check(path, info->magic, info->abi_version, err, errlen) < 0)
		goto fail;
	if (info->size < offsetof(mite_module_info, spare)) {
		util_err(err, errlen, "%s has a truncated mite_module descriptor (%u bytes)", path,
			 (unsigned)info->size);
		goto fail;
	}

	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(real))) {
		util_err(err, errlen, "cannot open %s: %s", path, strerror(ENOMEM));
		goto fail;
	}
	m->handle = handle;
	m->info = info;
	m->refs = 1;
	if (api && info->api)
		*info->api = api;
	m->next = module_list;
	module_list = m;
	pthread_mutex_unlock(&module_lock);
	return m;

fail:
	if (m)
		free(m->path);
	free(m);
	if (handle)
		dlclose(handle);
	pthread_mutex_unlock(&module_lock);
	return NULL;
}

void *module_sym(module *m, const char *symbol, char *err, size_t errlen)
{
	void *p;

	if (!m || !symbol || !*symbol) {
		util_err(err, errlen, "%s has no symbol '%s'", m ? m->path : "(null)",
			 symbol ? symbol : "");
		return NULL;
	}
	dlerror();
	p = dlsym(m->handle, symbol);
	if (!p) {
		util_err(err, errlen, "%s has no symbol '%s'", m->path, symbol);
		return NULL;
	}
	return p;
}

void *module_sym_typed(module *m, const char *symbol, int func, char *err, size_t errlen)
{
	const Elf64_Sym *es = NULL;
	Dl_info dli;
	void *p = module_sym(m, symbol, err, errlen);
	unsigned type;

	if (!p)
		return NULL;
	/* When the loader cannot say, trust the name: the check is a courtesy
	 * that turns a crash in a runner into a message at load. */
	if (!dladdr1(p, &dli, (void **)&es, RTLD_DL_SYMENT) || !es)
		return p;
	type = ELF64_ST_TYPE(es->st_info);
	if (func && type != STT_FUNC && type != STT_GNU_IFUNC) {
		util_err(err, errlen, "%s: '%s' is not a function", m->path, symbol);
		return NULL;
	}
	if (!func && type != STT_OBJECT && type != STT_COMMON) {
		util_err(err, errlen, "%s: '%s' is not a data object", m->path, symbol);
		return NULL;
	}
	return p;
}

const mite_module_info *module_info(const module *m)
{
	return m ? m->info : NULL;
}

const char *module_path(const module *m)
{
	return m ? m->path : NULL;
}

void module_close(module *m)
{
	struct module **pp;

	if (!m)
		return;
	pthread_mutex_lock(&module_lock);
	if (--m->refs > 0) {
		pthread_mutex_unlock(&module_lock);
		return;
	}
	for (pp = &module_list; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	}
	pthread_mutex_unlock(&module_lock);
	dlclose(m->handle);
	free(m->path);
	free(m);
}
