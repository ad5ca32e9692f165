/* Errors that cross gateway modules, and the one question every intake asks
 * of an error: is it temporary (retry: LMTP 451, exit 75, leave on the IMAP
 * server) or permanent (refuse: LMTP 550, exit 65, error folder)? */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DK_ERROR (dk_error_quark())
GQuark dk_error_quark(void);

typedef enum {
	DK_ERROR_TEMPORARY,    /* a fault that may clear by itself: retry later */
	DK_ERROR_PERMANENT,    /* the input can never be accepted */
	DK_ERROR_CONFIG,       /* the configuration is wrong */
	DK_ERROR_NOT_FOUND,    /* no such ticket, article, row */
	DK_ERROR_RATE_LIMITED, /* a sender over [limits] sender_per_hour: retry later (temporary) */
	DK_ERROR_GONE,         /* it was there, and retention ([store] keep_raw_days) removed it */
} DkErrorCode;

/* TRUE when error describes a fault that may clear by itself: a busy or full
 * database, an I/O error, a temporary DK_ERROR, a rate limit. Parse errors and permanent
 * errors are not temporary. An unknown error counts as temporary, because
 * retrying a message is always safe and refusing it is not. */
gboolean dk_error_is_temporary(const GError *error);

G_END_DECLS
