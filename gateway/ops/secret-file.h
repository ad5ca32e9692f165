/* Files that hold a secret (a password, an OAuth client secret or refresh
 * token): read only when no other user can read them, checked on the open
 * descriptor so that the file cannot be swapped between check and read. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Opens path and checks it: a regular file (a symbolic link is refused)
 * whose mode gives group and others nothing. Returns the open descriptor
 * (the caller closes it), or -1 with DK_ERROR_CONFIG saying why and what
 * to run ("chmod 600 PATH"). */
int dk_secret_file_open(const char *path, GError **error);

/* The whole text of path (at most 8 KiB), checked as above. The caller
 * frees (and should clear) it. */
char *dk_secret_file_contents(const char *path, GError **error);

/* The secret in path: its first line, trailing white space removed; an
 * empty one is an error. DK_ERROR_CONFIG as dk_secret_file_open(). The
 * caller frees (and should clear) the result. */
char *dk_secret_file_read(const char *path, GError **error);

/* Writes text to path atomically with mode 0600: a temporary
 * file in the same folder, fsynced, renamed over path, and the folder
 * fsynced. DK_ERROR_TEMPORARY with the reason when it cannot. */
gboolean dk_secret_file_write(const char *path, const char *text, GError **error);

G_END_DECLS
