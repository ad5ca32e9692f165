/* Where docket sends credentials over HTTP: only over TLS, unless the
 * address is the machine itself or the administrator said "insecure". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when url may carry credentials: https, or http to a loopback host
 * (127.0.0.0/8, ::1, localhost), or any http when insecure is TRUE.
 * Otherwise FALSE with DK_ERROR_CONFIG naming what (e.g. "[connector:psa]
 * base_url") and how to allow it, if allowing it is possible
 * (insecure_key, or NULL). */
gboolean dk_url_policy_check(const char *url, gboolean insecure, const char *what,
                             const char *insecure_key, GError **error);

/* text with the credentials inside its URLs masked: the password of
 * "scheme://user:password@host" and the values of query parameters whose
 * names speak of keys, tokens, secrets or passwords become "********".
 * For `docket config dump`; the caller frees the result. */
char *dk_url_policy_mask(const char *text);

G_END_DECLS
