/* The REST API under /api/v1 (contrib/openapi.yaml documents every path
 * and shape): JSON in and out, multipart for files, errors as
 * {"code", "message"} (dk_web_error_code). A request names its user by
 * "Authorization: Bearer TOKEN" (auth.h: `docket user token`) or by the
 * web desk's session cookie with an X-CSRF-Token header for writes. Reads
 * need read_only, writes agent, the quarantine's reprocess admin; a
 * request refused (4xx) changes nothing. */
#pragma once

#include "gateway/web/web.h"

G_BEGIN_DECLS

/* Adds the API's handler under /api/v1 (a DkWebRegister). */
gboolean dk_api_register(DkWeb *web, SoupServer *server, GError **error);

G_END_DECLS
