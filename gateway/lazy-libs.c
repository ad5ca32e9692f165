/* The functions of libmount and libselinux that GIO refers to, for the
 * `docket` binary, which links GLib statically (gateway/CMakeLists.txt,
 * DOCKET_STATIC_DEPS): each loads its library with dlopen() on its first
 * call and forwards to it.
 *
 * GMime's g_mime_init() pulls in GIO's GFile, and with it GIO's code for
 * mount points and SELinux labels, which `docket` never runs. Linked as
 * usual, the two libraries and theirs (libblkid, libpcre2) would be
 * loaded, relocated and initialised (libselinux looks for selinuxfs) by
 * every `docket deliver`. Loaded here on demand, they cost nothing until
 * called. `docket` is a dynamically linked program: the libraries share
 * its C library, as they would if linked. A function GIO starts to use
 * that this file lacks is taken from the library itself, which then
 * loads at every start again: tests/e2e/test_deliver_start.py fails. */
#include <dlfcn.h>
#include <libmount.h>
#include <selinux/selinux.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
	const char *soname;
	void *handle;
} LazyLib;

static LazyLib libmount = {"libmount.so.1", NULL};
static LazyLib libselinux = {"libselinux.so.1", NULL};

/* The address of name in lib, loading lib on first use. A missing library
 * or symbol ends the program: the caller has no way to learn of it. */
static void *lazy_symbol(LazyLib *lib, const char *name)
{
	void *handle = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
	if (handle == NULL) {
		handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (handle == NULL) {
			fprintf(stderr, "docket: cannot load %s: %s\n", lib->soname, dlerror());
			abort();
		}
		void *expected = NULL;
		if (!__atomic_compare_exchange_n(&lib->handle, &expected, handle, 0,
		                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			dlclose(handle); /* another thread loaded it first */
			handle = expected;
		}
	}
	void *symbol = dlsym(handle, name);
	if (symbol == NULL) {
		fprintf(stderr, "docket: %s has no %s: %s\n", lib->soname, name, dlerror());
		abort();
	}
	return symbol;
}

/* Points fn, of the type of the library function name, at the library's
 * (POSIX's way to store dlsym()'s result). */
#define LAZY(lib, name)                                                                            \
	static __typeof__(name) *fn;                                                               \
	if (__atomic_load_n(&fn, __ATOMIC_ACQUIRE) == NULL) {                                      \
		__typeof__(name) *found;                                                           \
		*(void **)&found = lazy_symbol(&(lib), #name);                                     \
		__atomic_store_n(&fn, found, __ATOMIC_RELEASE);                                    \
	}

/* Defines name (params), of result type ret, as a call of lib's with
 * args; FORWARD_VOID, one without result. */
#define FORWARD(lib, ret, name, params, args)                                                      \
	ret name params                                                                            \
	{                                                                                          \
		LAZY(lib, name);                                                                   \
		return fn args;                                                                    \
	}
#define FORWARD_VOID(lib, name, params, args)                                                      \
	void name params                                                                           \
	{                                                                                          \
		LAZY(lib, name);                                                                   \
		fn args;                                                                           \
	}

/* libmount, as GIO's gunixmounts.c uses it. */
FORWARD(libmount, struct libmnt_table *, mnt_new_table, (void), ())
FORWARD_VOID(libmount, mnt_free_table, (struct libmnt_table * tb), (tb))
FORWARD(libmount, struct libmnt_iter *, mnt_new_iter, (int direction), (direction))
FORWARD_VOID(libmount, mnt_free_iter, (struct libmnt_iter * itr), (itr))
FORWARD(libmount, int, mnt_table_parse_mtab, (struct libmnt_table * tb, const char *filename),
        (tb, filename))
FORWARD(libmount, int, mnt_table_parse_fstab, (struct libmnt_table * tb, const char *filename),
        (tb, filename))
FORWARD(libmount, int, mnt_table_next_fs,
        (struct libmnt_table * tb, struct libmnt_iter *itr, struct libmnt_fs **fs), (tb, itr, fs))
FORWARD(libmount, const char *, mnt_fs_get_fstype, (struct libmnt_fs * fs), (fs))
FORWARD(libmount, const char *, mnt_fs_get_options, (struct libmnt_fs * fs), (fs))
FORWARD(libmount, const char *, mnt_fs_get_root, (struct libmnt_fs * fs), (fs))
FORWARD(libmount, const char *, mnt_fs_get_source, (struct libmnt_fs * fs), (fs))
FORWARD(libmount, const char *, mnt_fs_get_target, (struct libmnt_fs * fs), (fs))
FORWARD(libmount, char *, mnt_fs_strdup_options, (struct libmnt_fs * fs), (fs))
FORWARD(libmount, const struct libmnt_optmap *, mnt_get_builtin_optmap, (int id), (id))
FORWARD(libmount, const char *, mnt_get_fstab_path, (void), ())
FORWARD(libmount, int, mnt_has_regular_mtab, (const char **mtab, int *writable), (mtab, writable))
FORWARD(libmount, int, mnt_optstr_get_flags,
        (const char *optstr, unsigned long *flags, const struct libmnt_optmap *map),
        (optstr, flags, map))

/* libselinux, as GIO's glocalfileinfo.c uses it. A context the library
 * returns goes back to it through freecon(). */
FORWARD(libselinux, int, is_selinux_enabled, (void), ())
FORWARD(libselinux, int, getfilecon_raw, (const char *path, char **con), (path, con))
FORWARD(libselinux, int, lgetfilecon_raw, (const char *path, char **con), (path, con))
FORWARD(libselinux, int, fgetfilecon_raw, (int fd, char **con), (fd, con))
FORWARD(libselinux, int, setfilecon_raw, (const char *path, const char *con), (path, con))
FORWARD_VOID(libselinux, freecon, (char *con), (con))
