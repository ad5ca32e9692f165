/* Files that hold credentials (IMAP and SMTP passwords, OAuth secrets and
 * tokens, connector keys): read only when no other user can read them,
 * checked on the open descriptor so the file cannot be swapped between the
 * check and the read; written atomically with mode 0600. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Opens path for reading and checks it: a regular file (symbolic links
 * are not followed), at most 64 KiB, whose mode gives group and others
 * neither read nor write. The open descriptor (the caller closes it), or
 * -1 with DK_ERROR_CONFIG saying why and how to fix it ("chmod 600
 * PATH"). */
int dk_secret_file_open(const char *path, GError **error);

/* The whole file at path, trailing white space removed; refused as
 * dk_secret_file_open() refuses. The caller frees the result. */
char *dk_secret_file_read(const char *path, GError **error);

/* As dk_secret_file_read, but only the first line, which must not be
 * empty. */
char *dk_secret_file_read_line(const char *path, GError **error);

/* Writes text to path atomically with mode 0600: a temporary file in the
 * same folder, fsynced, renamed over path, and the folder fsynced.
 * DK_ERROR_TEMPORARY with the reason when it cannot. */
gboolean dk_secret_file_write(const char *path, const char *text, GError **error);

G_END_DECLS
