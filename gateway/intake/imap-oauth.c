/* The OAuth 2.0 grants of imap-oauth.h with libcurl and jansson. */
#include "gateway/intake/imap-oauth.h"

#include "gateway/error.h"

#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

static size_t collect(char *data, size_t size, size_t n, void *user)
{
	g_string_append_len(user, data, (gssize)(size * n));
	return size * n;
}

/* Appends &name=value, escaped, when value is set. */
static void add(GString *body, const char *name, const char *value)
{
	if (value == NULL)
		return;
	char *escaped = curl_easy_escape(NULL, value, 0);
	g_string_append_printf(body, "%s%s=%s", body->len ? "&" : "", name, escaped);
	curl_free(escaped);
}

/* POSTs the form body to url; the answer's JSON (NULL when it is not) and
 * HTTP status, or FALSE with a temporary error when there was no answer. */
static gboolean post(const DkImapAccount *a, const char *url, GString *body, long *status_out,
                     json_t **doc_out, GError **error)
{
	CURL *curl = curl_easy_init();
	if (curl == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "imap %s: cannot initialise libcurl", a->name);
		return FALSE;
	}
	g_autoptr(GString) answer = g_string_new(NULL);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->str);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)a->timeout_seconds);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
	CURLcode rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status_out);
	curl_easy_cleanup(curl);
	explicit_bzero(body->str, body->len);
	if (rc != CURLE_OK) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "imap %s: %s: %s", a->name, url,
		            curl_easy_strerror(rc));
		return FALSE;
	}
	*doc_out = json_loadb(answer->str, answer->len, 0, NULL);
	return TRUE;
}

static const char *field(json_t *doc, const char *name)
{
	return json_string_value(json_object_get(doc, name));
}

/* The error of an answer that is not the one hoped for. */
static void answer_error(const DkImapAccount *a, const char *url, long status, json_t *doc,
                         GError **error)
{
	const char *err = field(doc, "error");
	const char *desc = field(doc, "error_description");
	g_set_error(error, DK_ERROR,
	            status >= 500 || status == 429 ? DK_ERROR_TEMPORARY : DK_ERROR_PERMANENT,
	            "imap %s: token endpoint %s answered HTTP %ld: %s%s%s", a->name, url, status,
	            err ? err : "no access_token", desc ? ": " : "", desc ? desc : "");
}

/* Keeps a refresh token the provider rotated to: the old one may stop
 * working at any moment. */
static void keep_rotated(DkImapAccount *a, const char *fresh)
{
	if (fresh == NULL || *fresh == '\0' || g_strcmp0(fresh, a->oauth_refresh_token) == 0)
		return;
	g_autoptr(GError) error = NULL;
	if (dk_imap_oauth_token_store(a, fresh, &error))
		g_message("imap account=%s event=refresh-token-rotated stored=%s", a->name,
		          a->oauth_token_path);
	else
		g_warning(
		    "imap account=%s event=refresh-token-rotated stored=no error=\"%s\" (kept "
		    "until docket stops)",
		    a->name, error->message);
}

char *dk_imap_oauth_access_token(DkImapAccount *a, GError **error)
{
	if (!a->oauth_app && a->oauth_refresh_token == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "imap %s: no refresh token yet: run `docket imap authorize %s`",
		            a->name, a->name);
		return NULL;
	}
	g_autoptr(GString) body = g_string_new(NULL);
	add(body, "grant_type", a->oauth_app ? "client_credentials" : "refresh_token");
	if (!a->oauth_app)
		add(body, "refresh_token", a->oauth_refresh_token);
	add(body, "client_id", a->oauth_client_id);
	add(body, "client_secret", a->oauth_client_secret);
	add(body, "scope", a->oauth_scope);
	long status = 0;
	json_t *doc = NULL;
	if (!post(a, a->oauth_token_url, body, &status, &doc, error))
		return NULL;
	const char *token = field(doc, "access_token");
	char *out = NULL;
	if (status == 200 && token != NULL) {
		out = g_strdup(token);
		if (!a->oauth_app)
			keep_rotated(a, field(doc, "refresh_token"));
	} else {
		answer_error(a, a->oauth_token_url, status, doc, error);
	}
	json_decref(doc);
	return out;
}

/* Step 1 of RFC 8628 (section 3.1-3.2): the device and user codes. */
static json_t *device_codes(const DkImapAccount *a, GError **error)
{
	g_autoptr(GString) body = g_string_new(NULL);
	add(body, "client_id", a->oauth_client_id);
	add(body, "client_secret", a->oauth_client_secret);
	add(body, "scope", a->oauth_scope);
	long status = 0;
	json_t *doc = NULL;
	if (!post(a, a->oauth_device_url, body, &status, &doc, error))
		return NULL;
	/* "verification_url" is what Google's endpoint says instead. */
	if (status == 200 && field(doc, "device_code") && field(doc, "user_code") &&
	    (field(doc, "verification_uri") || field(doc, "verification_url")))
		return doc;
	answer_error(a, a->oauth_device_url, status, doc, error);
	g_prefix_error(error, "device authorization: ");
	json_decref(doc);
	return NULL;
}

/* Step 3 (section 3.4-3.5): polls until the user has decided. */
static gboolean poll_token(DkImapAccount *a, const char *device_code, gint64 interval,
                           gint64 deadline, GError **error)
{
	for (;;) {
		g_usleep((gulong)interval * G_USEC_PER_SEC);
		g_autoptr(GString) body = g_string_new(NULL);
		add(body, "grant_type", DEVICE_GRANT);
		add(body, "device_code", device_code);
		add(body, "client_id", a->oauth_client_id);
		add(body, "client_secret", a->oauth_client_secret);
		long status = 0;
		json_t *doc = NULL;
		if (!post(a, a->oauth_token_url, body, &status, &doc, error))
			return FALSE;
		const char *err = field(doc, "error");
		const char *refresh = field(doc, "refresh_token");
		gboolean ok = status == 200 && field(doc, "access_token") != NULL;
		gboolean wait = !ok && (g_strcmp0(err, "authorization_pending") == 0 ||
		                        g_strcmp0(err, "slow_down") == 0);
		if (g_strcmp0(err, "slow_down") == 0)
			interval += 5; /* section 3.5 */
		if (ok && refresh == NULL)
			g_set_error(
			    error, DK_ERROR, DK_ERROR_PERMANENT,
			    "imap %s: the provider granted access but no refresh token: add "
			    "offline_access (or your provider's word for it) to oauth_scope",
			    a->name);
		else if (ok)
			ok = dk_imap_oauth_token_store(a, refresh, error);
		else if (!wait)
			answer_error(a, a->oauth_token_url, status, doc, error);
		json_decref(doc);
		if (!wait)
			return ok && refresh != NULL;
		if (g_get_monotonic_time() + interval * G_USEC_PER_SEC > deadline) {
			g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
			            "imap %s: the code expired before it was approved", a->name);
			return FALSE;
		}
	}
}

gboolean dk_imap_oauth_authorize(DkImapAccount *a, DkImapOAuthPromptFunc prompt, gpointer data,
                                 GError **error)
{
	if (a->auth != DK_IMAP_AUTH_XOAUTH2 || a->oauth_app || a->oauth_device_url == NULL) {
		g_set_error(
		    error, DK_ERROR, DK_ERROR_CONFIG,
		    "[imap:%s]: authorize needs auth = xoauth2, oauth_grant = refresh_token and "
		    "oauth_device_url (the provider's device authorization endpoint)",
		    a->name);
		return FALSE;
	}
	json_t *doc = device_codes(a, error);
	if (doc == NULL)
		return FALSE;
	json_int_t expires = json_integer_value(json_object_get(doc, "expires_in"));
	json_t *every = json_object_get(doc, "interval");
	DkImapOAuthPrompt p = {
	    .verification_uri = field(doc, "verification_uri") ? field(doc, "verification_uri")
	                                                       : field(doc, "verification_url"),
	    .verification_uri_complete = field(doc, "verification_uri_complete"),
	    .user_code = field(doc, "user_code"),
	    .expires_in = expires > 0 ? expires : 900,
	};
	prompt(&p, data);
	/* Section 3.2: 5 seconds unless the provider says otherwise. */
	gint64 interval = json_is_integer(every) ? MAX(json_integer_value(every), 1) : 5;
	gint64 deadline = g_get_monotonic_time() + p.expires_in * G_USEC_PER_SEC;
	gboolean ok = poll_token(a, field(doc, "device_code"), interval, deadline, error);
	json_decref(doc);
	return ok;
}
