/* A connector from its [connector:NAME] section, and the HTTP requests
 * every connector makes (libcurl; JSON bodies; TLS verification on). */
#define G_LOG_DOMAIN "connector"
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/ops/secret-file.h"
#include "gateway/ops/url-policy.h"

#include <curl/curl.h>
#include <string.h>

const DkConnectorOps *dk_connector_ops(const char *type)
{
	static const DkConnectorOps *const all[] = {
	    &dk_connector_webhook,  &dk_connector_connectwise, &dk_connector_incidentiq,
	    &dk_connector_ninjaone, &dk_connector_opspilot,    &dk_connector_omnidesk};
	for (gsize i = 0; i < G_N_ELEMENTS(all); i++)
		if (g_strcmp0(all[i]->type, type) == 0)
			return all[i];
	return NULL;
}

/* "name = value" lines; # starts a comment line. The file must be
 * private to docket's user, as the IMAP and SMTP secret files. */
static GHashTable *read_credentials(const char *path, GError **error)
{
	GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (*path == '\0')
		return out;
	g_autoptr(GError) local = NULL;
	g_autofree char *text = dk_secret_file_read(path, &local);
	if (text == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "credentials: %s", local->message);
		g_hash_table_unref(out);
		return NULL;
	}
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]);
		char *eq = strchr(line, '=');
		if (eq == NULL || line[0] == '#')
			continue;
		*eq = '\0';
		g_hash_table_replace(out, g_strdup(g_strstrip(line)), g_strdup(g_strstrip(eq + 1)));
	}
	return out;
}

/* Every URL among the credentials (NinjaOne's token_url, any "*_url")
 * follows the policy of base_url: credentials go over TLS. */
static gboolean credential_urls_ok(GHashTable *credentials, const char *section, gboolean insecure,
                                   GError **error)
{
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, credentials);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		if (!g_str_has_suffix(key, "url") || *(const char *)value == '\0')
			continue;
		g_autofree char *what =
		    g_strdup_printf("[%s] credentials_file %s", section, (const char *)key);
		if (!dk_url_policy_check(value, insecure, what, "insecure_http", error))
			return FALSE;
	}
	return TRUE;
}

static GHashTable *read_map(const DkConfig *config, const char *section, const char *key)
{
	GHashTable *map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) items = dk_config_get_list(config, section, key);
	for (guint i = 0; items[i] != NULL; i++) {
		char *eq = strchr(items[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		g_hash_table_replace(map, g_strdup(g_strstrip(items[i])),
		                     g_strdup(g_strstrip(eq + 1)));
	}
	return map;
}

DkConnector *dk_connector_new(const DkConfig *config, const char *name, GError **error)
{
	g_autofree char *section = g_strconcat("connector:", name, NULL);
	g_auto(GStrv) names = dk_config_get_instances(config, "connector");
	if (!g_strv_contains((const char *const *)names, name)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "no [%s] section in the configuration", section);
		return NULL;
	}
	const char *type = dk_config_get_string(config, section, "type");
	const char *url = dk_config_get_string(config, section, "base_url");
	if (*url == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "[%s] needs base_url", section);
		return NULL;
	}
	g_autofree char *what = g_strdup_printf("[%s] base_url", section);
	if (!dk_url_policy_check(url, dk_config_get_bool(config, section, "insecure_http"), what,
	                         "insecure_http", error))
		return NULL;
	GHashTable *credentials =
	    read_credentials(dk_config_get_string(config, section, "credentials_file"), error);
	if (credentials == NULL ||
	    !credential_urls_ok(credentials, section,
	                        dk_config_get_bool(config, section, "insecure_http"), error)) {
		g_clear_pointer(&credentials, g_hash_table_unref);
		return NULL;
	}
	DkConnector *c = g_new0(DkConnector, 1);
	c->name = g_strdup(name);
	c->ops = dk_connector_ops(type);
	c->base_url = g_strdup(url);
	gsize len = strlen(c->base_url);
	while (len > 0 && c->base_url[len - 1] == '/')
		c->base_url[--len] = '\0';
	c->credentials = credentials;
	c->queues = dk_config_get_list(config, section, "queues");
	c->timeout_seconds = dk_config_get_int(config, section, "timeout_seconds");
	c->claim_seconds = dk_config_get_int(config, section, "claim_seconds");
	const char *ca = dk_config_get_string(config, section, "ca_file");
	c->ca_file = *ca ? g_strdup(ca) : NULL;
	c->reference_prefix = g_strdup(dk_config_get_string(config, section, "reference_prefix"));
	c->board = g_strdup(dk_config_get_string(config, section, "board"));
	c->company = g_strdup(dk_config_get_string(config, section, "company"));
	c->status_map = read_map(config, section, "status_map");
	c->priority_map = read_map(config, section, "priority_map");
	c->config = config;
	if (c->ops != NULL && c->ops->init != NULL && !c->ops->init(c, config, section, error)) {
		dk_connector_free(c);
		return NULL;
	}
	return c;
}

void dk_connector_free(DkConnector *c)
{
	if (c == NULL)
		return;
	g_free(c->name);
	g_free(c->base_url);
	g_hash_table_unref(c->credentials);
	g_strfreev(c->queues);
	g_free(c->ca_file);
	g_free(c->reference_prefix);
	g_free(c->board);
	g_free(c->company);
	g_hash_table_unref(c->status_map);
	g_hash_table_unref(c->priority_map);
	if (c->state != NULL && c->state_free != NULL)
		c->state_free(c->state);
	g_free(c);
}

const char *dk_connector_credential(const DkConnector *c, const char *name)
{
	return g_hash_table_lookup(c->credentials, name);
}

const char *dk_connector_map(GHashTable *map, const char *value)
{
	const char *mapped = value ? g_hash_table_lookup(map, value) : NULL;
	return mapped ? mapped : value;
}

static GHashTable *map_of(const DkConnector *c, const DkConnectorVocabulary *v)
{
	return g_strcmp0(v->field, "status") == 0 ? c->status_map : c->priority_map;
}

const char *dk_connector_word(const DkConnector *c, const DkConnectorVocabulary *v,
                              const char *ours)
{
	const char *mapped = ours ? g_hash_table_lookup(map_of(c, v), ours) : NULL;
	for (gsize i = 0; mapped == NULL && i < v->n; i++)
		if (g_strcmp0(v->defaults[i].ours, ours) == 0)
			mapped = v->defaults[i].theirs;
	return mapped;
}

char *dk_connector_words_back(const DkConnector *c, const DkConnectorVocabulary *v,
                              const char *theirs)
{
	g_autoptr(GString) out = g_string_new(NULL);
	for (gsize i = 0; theirs != NULL && i < v->n; i++)
		if (g_strcmp0(dk_connector_word(c, v, v->defaults[i].ours), theirs) == 0)
			g_string_append_printf(out, "%s%s", out->len ? "," : "",
			                       v->defaults[i].ours);
	return out->len ? g_strdup(out->str) : NULL;
}

static gboolean word_known(const DkConnector *c, const DkConnectorVocabulary *v, const char *ours,
                           GString *report)
{
	const char *word = dk_connector_word(c, v, ours);
	if (g_strv_contains(v->known, word))
		return TRUE;
	g_string_append_printf(report, "%s: %s \"%s\" (for %s) is not one of the system's\n",
	                       c->name, v->field, word, ours);
	return FALSE;
}

/* Each default's word (as the map may change it) and each mapped word. */
static gboolean vocabulary_known(const DkConnector *c, const DkConnectorVocabulary *v,
                                 GString *report)
{
	gboolean ok = TRUE;
	for (gsize i = 0; i < v->n; i++)
		ok = word_known(c, v, v->defaults[i].ours, report) && ok;
	GHashTableIter iter;
	gpointer ours;
	g_hash_table_iter_init(&iter, map_of(c, v));
	while (g_hash_table_iter_next(&iter, &ours, NULL)) {
		gboolean has_default = FALSE;
		for (gsize i = 0; i < v->n; i++)
			has_default = has_default || g_strcmp0(v->defaults[i].ours, ours) == 0;
		ok = (has_default || word_known(c, v, ours, report)) && ok;
	}
	return ok;
}

gboolean dk_connector_words_known(const DkConnector *c, const DkConnectorVocabulary *status,
                                  const DkConnectorVocabulary *priority, GString *report)
{
	gboolean ok = vocabulary_known(c, status, report);
	return vocabulary_known(c, priority, report) && ok;
}

const char *dk_connector_setting(const DkConnector *c, const char *key)
{
	g_autofree char *section = g_strconcat("connector:", c->name, NULL);
	return dk_config_get_string(c->config, section, key);
}

gint64 dk_connector_setting_int(const DkConnector *c, const char *key)
{
	g_autofree char *section = g_strconcat("connector:", c->name, NULL);
	return dk_config_get_int(c->config, section, key);
}

GHashTable *dk_connector_setting_map(const DkConnector *c, const char *key)
{
	g_autofree char *section = g_strconcat("connector:", c->name, NULL);
	return read_map(c->config, section, key);
}

char *dk_connector_for_domain(const DkConnector *c, const char *address, const char *fallback)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	const char *found = NULL;
	g_autoptr(GHashTable) map = dk_connector_setting_map(c, "organisation_map");
	GHashTableIter iter;
	gpointer domain, id;
	g_hash_table_iter_init(&iter, map);
	while (at != NULL && found == NULL && g_hash_table_iter_next(&iter, &domain, &id))
		if (g_ascii_strcasecmp(domain, at + 1) == 0)
			found = id;
	if (found == NULL)
		found = g_hash_table_lookup(map, "*");
	if (found == NULL)
		found = fallback;
	return found != NULL && *found != '\0' ? g_strdup(found) : NULL;
}

const char *dk_connector_text(const DkArticle *a)
{
	return a != NULL && a->new_text != NULL && *a->new_text ? a->new_text : "(no text)";
}

char *dk_connector_id(const json_t *o)
{
	json_t *id = json_object_get(o, "id");
	return json_is_integer(id)
	           ? g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(id))
	           : NULL;
}

gboolean dk_connector_take_id(const DkConnector *c, const json_t *reply, char **remote_out,
                              GError **error)
{
	if ((*remote_out = dk_connector_id(reply)) != NULL)
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: the answer carries no id", c->name);
	return FALSE;
}

char *dk_connector_member_id(const json_t *object, const char *member)
{
	json_t *v = json_object_get(object, member);
	if (json_is_integer(v))
		return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_string(v) && *json_string_value(v) != '\0')
		return g_strdup(json_string_value(v));
	return NULL;
}

static size_t collect(char *data, size_t size, size_t n, void *user)
{
	g_string_append_len(user, data, (gssize)(size * n));
	return size * n;
}

/* Retry-After in seconds (RFC 9110 section 10.2.3; an HTTP-date counts as
 * a minute). */
static size_t header_cb(char *data, size_t size, size_t n, void *user)
{
	DkConnector *c = user;
	gsize len = size * n;
	if (len > 12 && g_ascii_strncasecmp(data, "Retry-After:", 12) == 0) {
		g_autofree char *v = g_strstrip(g_strndup(data + 12, len - 12));
		char *end = NULL;
		gint64 s = g_ascii_strtoll(v, &end, 10);
		c->retry_after = (end != v && *end == '\0') ? CLAMP(s, 0, 86400) : 60;
	} else if (len > 18 && g_ascii_strncasecmp(data, "X-RateLimit-Reset:", 18) == 0) {
		g_autofree char *v = g_strstrip(g_strndup(data + 18, len - 18));
		c->rate_reset = g_ascii_strtoll(v, NULL, 10);
	}
	return len;
}

/* The secrets a request carried: every credential, also URL-escaped, and
 * the credential part of its Authorization header (NULL: none). */
static GPtrArray *sent_secrets(const DkConnector *c, const struct curl_slist *headers)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, c->credentials);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		if (strlen(value) < 4 || g_str_has_suffix(key, "url"))
			continue;
		g_ptr_array_add(out, g_strdup(value));
		g_ptr_array_add(out, g_uri_escape_string(value, NULL, FALSE));
	}
	for (const struct curl_slist *h = headers; h != NULL; h = h->next) {
		if (g_ascii_strncasecmp(h->data, "Authorization:", 14) != 0)
			continue;
		const char *space = strrchr(h->data, ' ');
		if (space != NULL && strlen(space + 1) >= 4)
			g_ptr_array_add(out, g_strdup(space + 1));
	}
	return out;
}

/* text with every secret replaced by "[redacted]". */
static char *redact(const char *text, const GPtrArray *secrets)
{
	GString *out = g_string_new(text);
	for (guint i = 0; i < secrets->len; i++)
		g_string_replace(out, g_ptr_array_index(secrets, i), "[redacted]", 0);
	return g_string_free(out, FALSE);
}

/* The first of names that is a non-empty string member of o, or NULL. */
static const char *first_string(const json_t *o, const char *const *names)
{
	for (guint i = 0; names[i] != NULL; i++) {
		const char *v = json_string_value(json_object_get(o, names[i]));
		if (v != NULL && *v != '\0')
			return v;
	}
	return NULL;
}

/* "code: message" of one JSON error object, into out. */
static void describe_error(const json_t *o, GString *out)
{
	static const char *const codes[] = {"error", "code", "errorCode", "ErrorKey", NULL};
	static const char *const messages[] = {
	    "error_description", "message", "Message", "errorMessage", "title", "detail", NULL};
	static const char *const fields[] = {"field", "Field", NULL};
	const char *code = first_string(o, codes), *message = first_string(o, messages);
	const char *field = first_string(o, fields);
	const char *parts[] = {field, code, message};
	gsize start = out->len;
	for (guint i = 0; i < G_N_ELEMENTS(parts); i++) {
		if (parts[i] != NULL)
			g_string_append_printf(out, "%s%s", out->len > start ? ": " : "", parts[i]);
	}
}

/* What an error reply may show: the codes and messages a server puts in
 * the usual JSON members (top level, "error", the first "errors"), at most
 * 300 characters, never the body itself: a server that echoes the request
 * would give back the key. The secrets the request carried are blanked even
 * there. */
static char *error_excerpt(const GString *body, const GPtrArray *secrets)
{
	g_autoptr(json_t) root = json_loadb(body->str, body->len, 0, NULL);
	g_autoptr(GString) text = g_string_new(NULL);
	if (json_is_object(root)) {
		describe_error(root, text);
		json_t *error = json_object_get(root, "error");
		if (json_is_object(error))
			describe_error(error, text);
		json_t *errors = json_object_get(root, "errors");
		if (errors == NULL)
			errors = json_object_get(root, "Errors");
		for (gsize i = 0; i < json_array_size(errors) && i < 5; i++) {
			gsize before = text->len;
			if (before > 0)
				g_string_append(text, "; ");
			describe_error(json_array_get(errors, i), text);
			if (text->len == before + (before > 0 ? 2 : 0))
				g_string_truncate(text, before);
		}
	}
	if (text->len == 0)
		return g_strdup_printf("(%zu bytes of reply not shown)", body->len);
	g_autofree char *valid = g_utf8_make_valid(text->str, (gssize)text->len);
	g_autofree char *clean = redact(valid, secrets);
	for (char *p = clean; *p; p++)
		if ((guchar)*p < 0x20)
			*p = ' ';
	if (g_utf8_strlen(clean, -1) <= 300)
		return g_steal_pointer(&clean);
	g_autofree char *cut = g_utf8_substring(clean, 0, 300);
	return g_strconcat(cut, "…", NULL);
}

static gboolean classify(DkConnector *c, const char *method, const char *path, long status,
                         const GString *body, const GPtrArray *secrets, GError **error)
{
	if (status >= 200 && status < 300)
		return TRUE;
	gboolean temporary = status == 408 || status == 429 || status >= 500;
	/* A 429 that names no Retry-After waits for the rate-limit window's
	 * reset (epoch seconds; small values are taken as seconds from now). */
	if (status == 429 && c->retry_after == 0 && c->rate_reset > 0) {
		gint64 now = g_get_real_time() / G_USEC_PER_SEC;
		gint64 wait = c->rate_reset > 1000000000 ? c->rate_reset - now : c->rate_reset;
		c->retry_after = CLAMP(wait, 1, 86400);
	}
	g_autofree char *shown = error_excerpt(body, secrets);
	g_set_error(error, DK_ERROR, temporary ? DK_ERROR_TEMPORARY : DK_ERROR_PERMANENT,
	            "%s: %s %s: HTTP %ld: %s", c->name, method, path, status, shown);
	return FALSE;
}

static void set_options(DkConnector *c, CURL *curl, const char *method, const char *url,
                        const char *body, gsize body_len)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_seconds);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)c->timeout_seconds);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
	if (body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, c);
}

static struct curl_slist *headers_for(DkConnector *c, const char *body, const char *const *extra,
                                      GError **error)
{
	gboolean typed = FALSE;
	for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
		typed = typed || g_ascii_strncasecmp(extra[i], "Content-Type:", 13) == 0;
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	if (body != NULL && !typed)
		h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: docket");
	for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
		h = curl_slist_append(h, extra[i]);
	if (c->ops->auth != NULL && !c->ops->auth(c, &h, error)) {
		curl_slist_free_all(h);
		return NULL;
	}
	return h;
}

static gboolean http(DkConnector *c, const char *method, const char *path, const char *body,
                     gsize body_len, const char *const *extra, json_t **response_out,
                     GError **error)
{
	if (response_out != NULL)
		*response_out = NULL;
	c->retry_after = 0;
	c->rate_reset = 0;
	g_autofree char *param = NULL;
	if (c->ops->auth_query != NULL && !c->ops->auth_query(c, &param, error))
		return FALSE;
	struct curl_slist *headers = headers_for(c, body, extra, error);
	if (headers == NULL)
		return FALSE;
	CURL *curl = curl_easy_init();
	gboolean absolute = g_str_has_prefix(path, "https://") || g_str_has_prefix(path, "http://");
	g_autofree char *url = absolute ? g_strdup(path) : g_strconcat(c->base_url, path, NULL);
	if (param != NULL) {
		char *with = g_strconcat(url, strchr(url, '?') ? "&" : "?", param, NULL);
		g_free(url);
		url = with;
	}
	g_autoptr(GString) received = g_string_new(NULL);
	char errbuf[CURL_ERROR_SIZE] = "";
	set_options(c, curl, method, url, body, body_len);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, received);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	g_autoptr(GPtrArray) secrets = sent_secrets(c, headers);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "%s: %s %s: %s", c->name, method,
		            path, *errbuf ? errbuf : curl_easy_strerror(rc));
		return FALSE;
	}
	if (!classify(c, method, path, status, received, secrets, error))
		return FALSE;
	if (response_out != NULL && received->len > 0)
		*response_out = json_loadb(received->str, received->len, 0, NULL);
	return TRUE;
}

gboolean dk_connector_http(DkConnector *c, const char *method, const char *path, const char *body,
                           const char *const *extra, json_t **response_out, GError **error)
{
	return http(c, method, path, body, body ? strlen(body) : 0, extra, response_out, error);
}

gboolean dk_connector_http_bytes(DkConnector *c, const char *method, const char *path, GBytes *body,
                                 const char *const *extra, json_t **response_out, GError **error)
{
	gsize len = 0;
	const char *data = g_bytes_get_data(body, &len);
	return http(c, method, path, data ? data : "", len, extra, response_out, error);
}

gboolean dk_connector_http_json(DkConnector *c, const char *method, const char *path,
                                const json_t *body, json_t **response_out, GError **error)
{
	g_autofree char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	return dk_connector_http(c, method, path, text, NULL, response_out, error);
}

DkConnectorChange *dk_connector_change_new(const char *id, const char *text, const char *author,
                                           const char *status)
{
	DkConnectorChange *ch = g_new0(DkConnectorChange, 1);
	ch->id = g_strdup(id);
	ch->text = g_strdup(text);
	ch->author = g_strdup(author);
	ch->status = g_strdup(status);
	return ch;
}

void dk_connector_change_free(gpointer change)
{
	DkConnectorChange *ch = change;
	if (ch == NULL)
		return;
	g_free(ch->id);
	g_free(ch->text);
	g_free(ch->author);
	g_free(ch->status);
	g_free(ch);
}

char *dk_connector_origin(const DkConnector *c)
{
	return g_strconcat("connector:", c->name, NULL);
}

void dk_connector_file_free(gpointer file)
{
	DkConnectorFile *f = file;
	if (f == NULL)
		return;
	g_free(f->filename);
	g_free(f->content_type);
	if (f->data != NULL)
		g_bytes_unref(f->data);
	g_free(f);
}

gint64 dk_connector_file_limit(const DkConnector *c, gint64 system_default)
{
	gint64 set = dk_connector_setting_int(c, "attachment_max_bytes");
	return system_default > 0 && set > 0 ? set : system_default;
}

char *dk_connector_files_left_out(const GPtrArray *files, gint64 limit)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; files != NULL && i < files->len; i++) {
		const DkConnectorFile *f = g_ptr_array_index(files, i);
		if (limit <= 0)
			g_string_append_printf(out,
			                       "\n(not sent: %s, %" G_GSIZE_FORMAT
			                       " bytes: the system takes no files from docket)",
			                       f->filename, f->size);
		else if (f->data == NULL || (gint64)f->size > limit)
			g_string_append_printf(out,
			                       "\n(not sent: %s, %" G_GSIZE_FORMAT
			                       " bytes, over the limit of %" G_GINT64_FORMAT
			                       " bytes)",
			                       f->filename, f->size, limit);
	}
	return g_string_free(out, FALSE);
}

static void append(GByteArray *out, const char *text)
{
	g_byte_array_append(out, (const guint8 *)text, (guint)strlen(text));
}

void dk_connector_form_field(GByteArray *out, const char *boundary, const char *name,
                             const char *content_type, const char *value)
{
	g_autofree char *head =
	    g_strdup_printf("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n%s%s%s\r\n",
	                    boundary, name, content_type ? "Content-Type: " : "",
	                    content_type ? content_type : "", content_type ? "\r\n" : "");
	append(out, head);
	append(out, value);
	append(out, "\r\n");
}

void dk_connector_form_file(GByteArray *out, const char *boundary, const char *name,
                            const DkConnectorFile *f)
{
	g_autofree char *file = g_strdup(f->filename);
	for (char *p = file; *p != '\0'; p++)
		if (*p == '"' || *p == '\r' || *p == '\n')
			*p = '_';
	g_autofree char *head = g_strdup_printf(
	    "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
	    "Content-Type: %s\r\n\r\n",
	    boundary, name, file, f->content_type ? f->content_type : "application/octet-stream");
	gsize len = 0;
	const guint8 *data = f->data ? g_bytes_get_data(f->data, &len) : NULL;
	append(out, head);
	if (len > 0)
		g_byte_array_append(out, data, (guint)len);
	append(out, "\r\n");
}

GBytes *dk_connector_form_end(GByteArray *out, const char *boundary)
{
	g_autofree char *tail = g_strdup_printf("--%s--\r\n", boundary);
	append(out, tail);
	return g_byte_array_free_to_bytes(out);
}
