/* Files that hold credentials (IMAP and SMTP passwords, OAuth secrets,
 * connector keys): read only when no other user can read them, checked on
 * the open descriptor so the file cannot be swapped between the check and
 * the read. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The whole file at path (at most 64 KiB), trailing white space removed.
 * Refuses with DK_ERROR_CONFIG, saying why and how to fix it, a file that
 * cannot be opened, is no regular file (symbolic links are not followed),
 * is larger, or whose mode lets group or others read or write it. The
 * caller frees the result. */
char *dk_secret_file_read(const char *path, GError **error);

/* As dk_secret_file_read, but only the first line, which must not be
 * empty. */
char *dk_secret_file_read_line(const char *path, GError **error);

G_END_DECLS
