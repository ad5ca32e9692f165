/* [store] url and password_file made into one libpq conninfo. */
#include "gateway/store/store-pg-conninfo.h"

#include "gateway/error.h"
#include "gateway/ops/secret-file.h"

#include <libpq-fe.h>
#include <string.h>

/* keyword='value', the value's quotes and backslashes escaped as libpq
 * reads them. */
static void append(GString *out, const char *keyword, const char *value)
{
	if (out->len > 0)
		g_string_append_c(out, ' ');
	g_string_append_printf(out, "%s='", keyword);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\'' || *p == '\\')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '\'');
}

/* The parameters url sets, the password aside, into out. */
static gboolean append_url(GString *out, const char *url, GError **error)
{
	char *why = NULL;
	PQconninfoOption *options = PQconninfoParse(url, &why);
	if (options == NULL) {
		g_autofree char *text = g_strstrip(g_strdup(why ? why : "out of memory"));
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "[store] url: %s", text);
		PQfreemem(why);
		return FALSE;
	}
	for (const PQconninfoOption *o = options; o->keyword != NULL; o++)
		if (o->val != NULL && strcmp(o->keyword, "password") != 0)
			append(out, o->keyword, o->val);
	PQconninfoFree(options);
	return TRUE;
}

char *dk_store_pg_conninfo(const DkConfig *config, GError **error)
{
	const char *url = dk_config_get_string(config, "store", "url");
	if (*url == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "[store] url is not set (backend = postgresql needs it)");
		return NULL;
	}
	g_autoptr(GString) out = g_string_new(NULL);
	if (!append_url(out, url, error))
		return NULL;
	const char *file = dk_config_get_string(config, "store", "password_file");
	if (*file != '\0') {
		g_autofree char *password = dk_secret_file_read_line(file, error);
		if (password == NULL) {
			g_prefix_error(error, "[store] password_file: ");
			return NULL;
		}
		append(out, "password", password);
	}
	append(out, "fallback_application_name", "docket");
	return g_string_free(g_steal_pointer(&out), FALSE);
}
