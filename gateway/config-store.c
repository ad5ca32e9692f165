/* The validator's part for [store] backend = postgresql: the URL of the
 * database (a libpq URI, read here without libpq, which `docket` does not
 * link), its TLS, and the keys that go with it. */
#include "gateway/config-private.h"

#include <string.h>

#define PG_URL_FORM "postgresql://USER@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=FILE"

/* What the validator needs of a URL: its hosts and its parameters. */
typedef struct {
	GPtrArray *hosts;   /* of char*, decoded; "" where the URL names none */
	GHashTable *params; /* decoded name -> value */
} PgUrl;

static void pg_url_free(PgUrl *u)
{
	g_ptr_array_unref(u->hosts);
	g_hash_table_unref(u->params);
	g_free(u);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PgUrl, pg_url_free)

/* The hosts of "host1:port,[::1]:port,...", into u->hosts. */
static gboolean parse_hosts(PgUrl *u, const char *spec, gsize len, char **why_out)
{
	g_autofree char *copy = g_strndup(spec, len);
	g_auto(GStrv) items = g_strsplit(copy, ",", -1);
	for (guint i = 0; items[i] != NULL; i++) {
		const char *item = items[i];
		gsize n = strcspn(item, ":");
		if (*item == '[') { /* an IPv6 address */
			const char *end = strchr(item, ']');
			if (end == NULL) {
				*why_out = g_strdup_printf("“%s” has no closing ]", item);
				return FALSE;
			}
			g_ptr_array_add(u->hosts, g_strndup(item + 1, (gsize)(end - item - 1)));
			continue;
		}
		g_autofree char *raw = g_strndup(item, n);
		char *host = g_uri_unescape_string(raw, NULL);
		if (host == NULL) {
			*why_out =
			    g_strdup_printf("“%s” is not a host (a %% not followed by two hex "
			                    "digits)",
			                    raw);
			return FALSE;
		}
		g_ptr_array_add(u->hosts, host);
	}
	return TRUE;
}

/* The parameters "a=1&b=2" into u->params. */
static gboolean parse_params(PgUrl *u, const char *query, char **why_out)
{
	g_auto(GStrv) items = g_strsplit(query, "&", -1);
	for (guint i = 0; items[i] != NULL; i++) {
		const char *eq = strchr(items[i], '=');
		if (eq == NULL) {
			*why_out =
			    g_strdup_printf("the parameter “%s” is not NAME=VALUE", items[i]);
			return FALSE;
		}
		g_autofree char *raw_name = g_strndup(items[i], (gsize)(eq - items[i]));
		char *name = g_uri_unescape_string(raw_name, NULL);
		char *value = g_uri_unescape_string(eq + 1, NULL);
		if (name == NULL || value == NULL) {
			g_free(name);
			g_free(value);
			*why_out =
			    g_strdup_printf("the parameter “%s” has a %% not followed by two "
			                    "hex digits",
			                    items[i]);
			return FALSE;
		}
		g_hash_table_replace(u->params, name, value);
	}
	return TRUE;
}

/* postgresql://[user[:password]@][host[:port][,...]][/database][?params] */
static PgUrl *pg_url_parse(const char *url, char **why_out)
{
	if (!g_str_has_prefix(url, "postgresql://")) {
		*why_out = g_strdup_printf("“%s” is not a PostgreSQL URL (" PG_URL_FORM ")", url);
		return NULL;
	}
	g_autoptr(PgUrl) u = g_new0(PgUrl, 1);
	u->hosts = g_ptr_array_new_with_free_func(g_free);
	u->params = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	const char *rest = url + strlen("postgresql://");
	gsize authority = strcspn(rest, "/?");
	const char *at = g_strrstr_len(rest, (gssize)authority, "@");
	if (at != NULL && memchr(rest, ':', (gsize)(at - rest)) != NULL) {
		*why_out = g_strdup("holds a password: keep it in [store] password_file instead");
		return NULL;
	}
	const char *hosts = at != NULL ? at + 1 : rest;
	if (!parse_hosts(u, hosts, authority - (gsize)(hosts - rest), why_out))
		return NULL;
	const char *query = strchr(rest, '?');
	if (query != NULL && query[1] != '\0' && !parse_params(u, query + 1, why_out))
		return NULL;
	if (g_hash_table_contains(u->params, "password")) {
		*why_out = g_strdup("holds a password (password=): keep it in [store] "
		                    "password_file instead");
		return NULL;
	}
	return g_steal_pointer(&u);
}

char *dk_conf_pg_url_why(const char *url)
{
	char *why = NULL;
	g_autoptr(PgUrl) u = pg_url_parse(url, &why);
	return why;
}

/* A host that is a Unix socket's directory (or libpq's default one). */
static gboolean is_socket(const char *host)
{
	return *host == '\0' || *host == '/' || *host == '@';
}

/* Whether the connection crosses a network: a host= parameter replaces
 * the URL's hosts; a hostaddr= is always TCP. */
static gboolean over_network(PgUrl *u)
{
	if (g_hash_table_contains(u->params, "hostaddr"))
		return TRUE;
	const char *param = g_hash_table_lookup(u->params, "host");
	if (param != NULL) {
		g_auto(GStrv) hosts = g_strsplit(param, ",", -1);
		for (guint i = 0; hosts[i] != NULL; i++)
			if (!is_socket(hosts[i]))
				return TRUE;
		return FALSE;
	}
	for (guint i = 0; i < u->hosts->len; i++)
		if (!is_socket(g_ptr_array_index(u->hosts, i)))
			return TRUE;
	return FALSE;
}

/* Over a network, the server is proven by its certificate against a CA
 * file (sslmode=verify-full with sslrootcert), or insecure_tls says that
 * less will do. */
static void check_tls(DkConfig *c, DkConfReport *r, PgUrl *u)
{
	const char *root = g_hash_table_lookup(u->params, "sslrootcert");
	if (root != NULL && !g_file_test(root, G_FILE_TEST_IS_REGULAR))
		dk_conf_report_key(r, "store", "url", "sslrootcert=%s is not a file", root);
	if (!over_network(u))
		return;
	const char *mode = g_hash_table_lookup(u->params, "sslmode");
	if (mode == NULL)
		mode = "prefer"; /* libpq's default */
	if (strcmp(mode, "verify-full") == 0 && root != NULL)
		return;
	g_autofree char *weak = strcmp(mode, "verify-full") == 0
	                            ? g_strdup("sslmode=verify-full without sslrootcert")
	                            : g_strdup_printf("sslmode=%s", mode);
	if (dk_config_get_bool(c, "store", "insecure_tls"))
		dk_conf_note(c,
		             "insecure: [store] insecure_tls = true: %s, the PostgreSQL server is "
		             "not proven by its certificate and its traffic may be read or changed",
		             weak);
	else
		dk_conf_report_key(r, "store", "url",
		                   "%s does not prove the server: use sslmode=verify-full with "
		                   "sslrootcert=FILE (or set insecure_tls = true)",
		                   weak);
}

void dk_conf_check_store_backend(DkConfig *c, DkConfReport *r)
{
	if (dk_config_store_backend(c) != DK_STORE_BACKEND_POSTGRESQL) {
		static const char *const keys[] = {"url", "password_file"};
		for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
			if (*dk_config_get_string(c, "store", keys[i]) != '\0')
				dk_conf_report_key(r, "store", keys[i],
				                   "is used only with backend = postgresql");
		if (dk_config_get_bool(c, "store", "insecure_tls"))
			dk_conf_report_key(r, "store", "insecure_tls",
			                   "is used only with backend = postgresql");
		return;
	}
	const char *url = dk_config_get_string(c, "store", "url");
	if (*url == '\0') {
		dk_conf_report_key(r, "store", "backend", "postgresql needs url (" PG_URL_FORM ")");
		return;
	}
	char *why = NULL;
	g_autoptr(PgUrl) u = pg_url_parse(url, &why);
	g_free(why); /* reported with the value */
	if (u != NULL)
		check_tls(c, r, u);
}

DkStoreBackend dk_config_store_backend(const DkConfig *config)
{
	return strcmp(dk_config_get_string(config, "store", "backend"), "postgresql") == 0
	           ? DK_STORE_BACKEND_POSTGRESQL
	           : DK_STORE_BACKEND_SQLITE;
}
