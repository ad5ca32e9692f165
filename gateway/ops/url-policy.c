/* The rule for URLs that carry credentials (url-policy.h). */
#include "gateway/ops/url-policy.h"

#include "gateway/error.h"

#include <gio/gio.h>

static gboolean loopback(const char *host)
{
	if (g_ascii_strcasecmp(host, "localhost") == 0)
		return TRUE;
	/* GUri keeps the brackets of an IPv6 literal out of the host. */
	g_autoptr(GInetAddress) address = g_inet_address_new_from_string(host);
	return address != NULL && g_inet_address_get_is_loopback(address);
}

gboolean dk_url_policy_check(const char *url, gboolean insecure, const char *what,
                             const char *insecure_key, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, &local);
	if (uri == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s: %s", what, local->message);
		return FALSE;
	}
	const char *scheme = g_uri_get_scheme(uri);
	if (g_ascii_strcasecmp(scheme, "https") == 0)
		return TRUE;
	if (g_ascii_strcasecmp(scheme, "http") != 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s: %s is not an https:// URL", what,
		            url);
		return FALSE;
	}
	const char *host = g_uri_get_host(uri);
	if (insecure || (host != NULL && loopback(host)))
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
	            "%s: %s would send credentials without TLS; use https://%s%s%s", what, url,
	            insecure_key ? " (or, knowingly, " : "", insecure_key ? insecure_key : "",
	            insecure_key ? " = true)" : "");
	return FALSE;
}

char *dk_url_policy_mask(const char *text)
{
	static GRegex *userinfo, *query;
	if (g_once_init_enter(&userinfo)) {
		query = g_regex_new("([?&][^=&#\\s]*(?:key|token|secret|passw|pass|pwd|auth|sig)"
		                    "[^=&#\\s]*=)[^&#\\s]+",
		                    G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&userinfo,
		                  g_regex_new("([a-z][a-z0-9+.-]*://[^/?#@:\\s]*):[^/?#@\\s]*@",
		                              G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL));
	}
	g_autofree char *masked = g_regex_replace(userinfo, text, -1, 0, "\\1:********@", 0, NULL);
	return g_regex_replace(query, masked, -1, 0, "\\1********", 0, NULL);
}
