/* The libpq connection string of [store] backend = postgresql: the
 * parameters of [store] url and the password kept in [store]
 * password_file. In docket-net only (it links libpq). */
#pragma once

#include "gateway/config.h"

#include <glib.h>

G_BEGIN_DECLS

/* The conninfo ("keyword='value' ...") for PQconnectdb(): every parameter
 * [store] url sets (libpq parses it), the password read from [store]
 * password_file when it is set (the file checked as every secret file:
 * ops/secret-file.h; a password in the URL is never used), and
 * fallback_application_name 'docket'. DK_ERROR_CONFIG when url is not set
 * or libpq cannot read it, or the password file is refused. The caller
 * frees the result; it holds the password: never log it. */
char *dk_store_pg_conninfo(const DkConfig *config, GError **error);

G_END_DECLS
