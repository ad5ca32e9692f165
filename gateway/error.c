/* Classifies errors as temporary or permanent for the intakes. */
#include "gateway/error.h"

#include "parsers/message.h"

G_DEFINE_QUARK(dk - error - quark, dk_error)

gboolean dk_error_is_temporary(const GError *error)
{
	if (error == NULL)
		return FALSE;
	if (error->domain == DK_PARSE_ERROR)
		return FALSE;
	if (error->domain == DK_ERROR)
		return error->code == DK_ERROR_TEMPORARY || error->code == DK_ERROR_RATE_LIMITED;
	return TRUE;
}
