/* Helpers shared by docket's cmocka tests: where the shared corpus is
 * (DOCKET_SHARED), temporary folders, and reading fixture files. Header-only so every test stays
 * one source file. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Exit status that ctest reports as "skipped" (SKIP_RETURN_CODE). */
#define DK_TEST_SKIP 77

/* The shared corpus folder, or NULL when it is absent (a fresh clone). The
 * caller owns the returned string. */
static inline char *dk_test_shared_path(const char *sub)
{
	const char *root = g_getenv("DOCKET_SHARED");
	if (root == NULL || *root == '\0')
		return NULL;
	g_autofree char *path = g_build_filename(root, sub, NULL);
	if (!g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return NULL;
	return g_steal_pointer(&path);
}

/* A fresh temporary folder; the caller removes it with dk_test_rmtree. */
/* Writes a credentials file only its owner may read (docket refuses any
 * other); aborts the test on failure. */
static inline void dk_test_write_secret(const char *path, const char *text)
{
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_true(g_chmod(path, 0600) == 0);
}

static inline char *dk_test_tmpdir(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("docket-test-XXXXXX", &error);
	g_assert_no_error(error);
	return dir;
}

static inline void dk_test_rmtree(const char *path)
{
	if (path == NULL)
		return;
	if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
		GDir *dir = g_dir_open(path, 0, NULL);
		const char *name;
		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			dk_test_rmtree(child);
		}
		if (dir != NULL)
			g_dir_close(dir);
		g_rmdir(path);
	} else {
		g_unlink(path);
	}
}

/* n bytes of noise from seed (a linear congruential sequence): content
 * that no compression or repetition shortcut favours, the same each run. */
static inline GBytes *dk_test_noise(gsize n, guint32 seed)
{
	guint8 *p = g_malloc(n + 1);
	for (gsize i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (guint8)(seed >> 16);
	}
	return g_bytes_new_take(p, n);
}

/* A file holding the n bytes at data, gone from its folder once closed:
 * its descriptor, the caller's to close. */
static inline int dk_test_file_of(const void *data, gsize n)
{
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("docket-test-XXXXXX", &path, NULL);
	g_assert_true(fd >= 0);
	g_unlink(path);
	g_assert_true(write(fd, data, n) == (gssize)n);
	return fd;
}

/* A DkParseOptions spill as the pipeline's: a new empty file each call,
 * gone once closed; counts the calls in *(guint *)counter. */
static inline int dk_test_spill_file(gpointer counter)
{
	(*(guint *)counter)++;
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("docket-test-spill-XXXXXX", &path, NULL);
	if (fd >= 0)
		g_unlink(path);
	return fd;
}
