/* The refresh-token grant (RFC 6749 section 6) with libcurl and jansson. */
#include "gateway/intake/imap-oauth.h"

#include "gateway/core/error.h"

#include <curl/curl.h>
#include <jansson.h>

static size_t collect(char *data, size_t size, size_t n, void *user)
{
	g_string_append_len(user, data, (gssize)(size * n));
	return size * n;
}

static char *form_body(CURL *curl, const DkImapAccount *a)
{
	GString *body = g_string_new("grant_type=refresh_token");
	const char *names[] = {"refresh_token", "client_id", "client_secret"};
	const char *values[] = {a->oauth_refresh_token, a->oauth_client_id, a->oauth_client_secret};
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (values[i] == NULL)
			continue;
		char *escaped = curl_easy_escape(curl, values[i], 0);
		g_string_append_printf(body, "&%s=%s", names[i], escaped);
		curl_free(escaped);
	}
	return g_string_free(body, FALSE);
}

/* The access_token of a 200 answer, or an error built from the answer. */
static char *parse_answer(const DkImapAccount *a, long status, const GString *answer, GError **error)
{
	json_t *doc = json_loadb(answer->str, answer->len, 0, NULL);
	const char *token = json_string_value(json_object_get(doc, "access_token"));
	if (status == 200 && token != NULL) {
		char *out = g_strdup(token);
		json_decref(doc);
		return out;
	}
	const char *err = json_string_value(json_object_get(doc, "error"));
	const char *desc = json_string_value(json_object_get(doc, "error_description"));
	g_set_error(error, DK_ERROR, status >= 500 || status == 429 ? DK_ERROR_TEMPORARY : DK_ERROR_PERMANENT,
		    "imap %s: token endpoint %s answered HTTP %ld: %s%s%s", a->name, a->oauth_token_url, status,
		    err ? err : "no access_token", desc ? ": " : "", desc ? desc : "");
	json_decref(doc);
	return NULL;
}

char *dk_imap_oauth_access_token(const DkImapAccount *a, GError **error)
{
	CURL *curl = curl_easy_init();
	if (curl == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "imap %s: cannot initialise libcurl", a->name);
		return NULL;
	}
	g_autofree char *body = form_body(curl, a);
	g_autoptr(GString) answer = g_string_new(NULL);
	curl_easy_setopt(curl, CURLOPT_URL, a->oauth_token_url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)a->timeout_seconds);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
	CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "imap %s: token endpoint %s: %s", a->name,
			    a->oauth_token_url, curl_easy_strerror(rc));
		return NULL;
	}
	return parse_answer(a, status, answer, error);
}
