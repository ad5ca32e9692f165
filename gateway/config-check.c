/* The validator's first half: what each value means, by the check its
 * schema entry names (addresses, listen addresses, URLs, files, Sieve,
 * SLA targets and calendars). The rules between keys are in
 * config-rules.c. Every finding names the file, the line and the key. */
#include "gateway/config-private.h"

#include "gateway/core/rules-apply.h"
#include "gateway/desk/sla-policy.h"
#include "gateway/desk/sla.h"
#include "gateway/ops/address.h"
#include "gateway/ops/secret-file.h"
#include "gateway/ops/url-policy.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#define SCRIPT_MAX (16 << 20) /* a Sieve script or holiday file docket reads */

gboolean dk_conf_domain_ok(const char *domain)
{
	gsize len = strlen(domain);
	if (len == 0 || len > 253 || domain[0] == '.' || domain[len - 1] == '.' ||
	    strstr(domain, "..") != NULL)
		return FALSE;
	for (const char *p = domain; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		if (!g_ascii_isalnum(c) && c != '-' && c != '.' && c < 0x80)
			return FALSE;
	}
	return TRUE;
}

/* "a@x b@x": words that each look like an address. */
static gboolean several_addresses(const char *text)
{
	g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
	guint n = 0;
	for (guint i = 0; words[i] != NULL; i++) {
		if (*words[i] == '\0')
			continue;
		if (strchr(words[i], '@') == NULL)
			return FALSE;
		n++;
	}
	return n > 1;
}

char *dk_conf_address_why(const char *address)
{
	const char *at = strrchr(address, '@');
	if (strpbrk(address, "<>\"") != NULL)
		return g_strdup_printf("“%s” is not a plain mail address (no name, brackets or "
		                       "quotes: name@example.com)",
		                       address);
	if (strpbrk(address, " \t") != NULL && several_addresses(address))
		return g_strdup_printf(
		    "“%s” is not one address (list items are separated by commas)", address);
	if (strpbrk(address, " \t") != NULL)
		return g_strdup_printf("“%s” is not a mail address like name@example.com", address);
	if (at == NULL || at == address || at[1] == '\0')
		return g_strdup_printf("“%s” is not a mail address like name@example.com", address);
	for (const char *p = address; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		if (c < 0x20 || c == 0x7f || strchr("<>()[],;:\"\\", c) != NULL ||
		    (c == '@' && p != at))
			return g_strdup_printf(
			    "“%s” is not a plain mail address (no name, brackets or "
			    "quotes: name@example.com)",
			    address);
	}
	if (!dk_conf_domain_ok(at + 1))
		return g_strdup_printf("“%s” has no valid domain after the @", address);
	return NULL;
}

/* Why spec (IP:PORT or [IPv6]:PORT) is not a listen address, or NULL. */
static char *inet_why(const char *spec)
{
	const char *port = NULL;
	g_autofree char *host = NULL;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL)
			return g_strdup_printf("“%s” has no closing ] after its IPv6 address",
			                       spec);
		host = g_strndup(spec + 1, (gsize)(close - spec - 1));
		port = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strrchr(spec, ':');
		host = g_strndup(spec, colon ? (gsize)(colon - spec) : strlen(spec));
		port = colon ? colon + 1 : NULL;
		if (colon != NULL && strchr(host, ':') != NULL)
			return g_strdup_printf(
			    "“%s”: write an IPv6 address in brackets, [::1]:2424", spec);
	}
	if (port == NULL)
		return g_strdup_printf("“%s” has no port: write IP:PORT, e.g. 127.0.0.1:2424",
		                       spec);
	guint64 n = 0;
	if (!g_ascii_string_to_unsigned(port, 10, 0, 65535, &n, NULL))
		return g_strdup_printf("“%s”: the port “%s” is not a number from 0 to 65535", spec,
		                       port);
	if (!g_hostname_is_ip_address(host))
		return g_strdup_printf(
		    "“%s”: “%s” is not an IP address (a listener takes one, e.g. "
		    "127.0.0.1 or [::1])",
		    spec, host);
	/* The listeners parse with this: what passes here binds there. */
	g_autoptr(GSocketAddress) address = dk_socket_address_parse(spec, NULL);
	if (address == NULL)
		return g_strdup_printf("“%s” is not IP:PORT or [IPv6]:PORT", spec);
	return NULL;
}

static char *listen_why(const char *spec)
{
	if (g_str_has_prefix(spec, "unix:"))
		return spec[5] != '\0'
		           ? NULL
		           : g_strdup("“unix:” needs a path, e.g. unix:/run/docket/lmtp");
	if (strpbrk(spec, " \t") != NULL)
		return g_strdup_printf(
		    "“%s” is not one address (list items are separated by commas)", spec);
	return inet_why(spec);
}

/* Why path is not a regular file docket can read, or NULL. */
static char *file_why(const char *path)
{
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return g_strdup_printf("%s does not exist", path);
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
		return g_strdup_printf("%s is not a regular file", path);
	if (access(path, R_OK) != 0)
		return g_strdup_printf("%s cannot be read: %s", path, g_strerror(errno));
	return NULL;
}

/* The text of a file the validator must read whole (bounded). */
static char *read_small(const char *path, char **why_out)
{
	*why_out = file_why(path);
	if (*why_out != NULL)
		return NULL;
	GStatBuf st;
	if (g_stat(path, &st) == 0 && st.st_size > SCRIPT_MAX) {
		*why_out = g_strdup_printf("%s is larger than %d MiB", path, SCRIPT_MAX >> 20);
		return NULL;
	}
	g_autoptr(GError) error = NULL;
	char *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &text, &len, &error)) {
		*why_out = g_strdup_printf("%s cannot be read", path);
		return NULL;
	}
	if (len > SCRIPT_MAX) {
		g_free(text);
		*why_out = g_strdup_printf("%s is larger than %d MiB", path, SCRIPT_MAX >> 20);
		return NULL;
	}
	return text;
}

/* Compiles the rules script the way the pipeline runs it, and keeps the
 * result with the configuration (dk_config_get_derived: "rules"). */
static char *sieve_why(DkConfig *config, const char *path)
{
	char *why = NULL;
	g_autofree char *source = read_small(path, &why);
	if (source == NULL)
		return why;
	g_autoptr(GError) error = NULL;
	DkRules *rules = dk_rules_load(config, &error);
	if (rules == NULL) {
		const char *message = error ? error->message : "cannot be read";
		return g_strdup(g_str_has_prefix(message, "rules: ") ? message + 7 : message);
	}
	dk_conf_set_derived(config, "rules", rules, (GDestroyNotify)dk_rules_unref);
	return NULL;
}

static char *dates_file_why(const char *path)
{
	char *why = NULL;
	g_autofree char *text = read_small(path, &why);
	if (text == NULL)
		return why;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) dates = dk_sla_holidays_parse(text, path, &error);
	if (dates == NULL)
		return g_strdup(error->message);
	g_autoptr(DkSlaCalendar) calendar =
	    dk_sla_calendar_new(NULL, NULL, (const char *const *)dates, &error);
	return calendar ? NULL : g_strdup(error->message);
}

/* The SLA calendar made of one of its three parts, to name the key. */
static char *calendar_why(const char *const *hours, const char *zone, const char *const *dates)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkSlaCalendar) calendar = dk_sla_calendar_new(hours, zone, dates, &error);
	return calendar ? NULL : g_strdup(error->message);
}

static char *regex_why(const char *pattern)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GRegex) re = g_regex_new(pattern, G_REGEX_OPTIMIZE, 0, &error);
	if (re == NULL)
		return g_strdup_printf("“%s” is not a regular expression: %s", pattern,
		                       error->message);
	if (g_regex_get_capture_count(re) < 1)
		return g_strdup_printf("“%s” needs a capture group ( ) around the number", pattern);
	return NULL;
}

static char *smtp_url_why(const char *url)
{
	g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
	const char *host = uri ? g_uri_get_host(uri) : NULL;
	if (scheme == NULL ||
	    (g_ascii_strcasecmp(scheme, "smtp") != 0 && g_ascii_strcasecmp(scheme, "smtps") != 0))
		return g_strdup_printf("“%s” is not smtp://HOST:PORT or smtps://HOST:PORT", url);
	if (host == NULL || *host == '\0')
		return g_strdup_printf("“%s” names no host", url);
	return NULL;
}

static char *http_url_why(const DkConfig *config, const char *section, const char *key,
                          const char *url)
{
	g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	const char *host = uri ? g_uri_get_host(uri) : NULL;
	if (uri == NULL || host == NULL || *host == '\0')
		return g_strdup_printf("“%s” is not a URL like https://host/path", url);
	/* The policy every request follows (ops/url-policy.h). */
	gboolean insecure = dk_conf_schema_find(section, "insecure_http") != NULL &&
	                    dk_config_get_bool(config, section, "insecure_http");
	const char *insecure_key =
	    dk_conf_schema_find(section, "insecure_http") ? "insecure_http" : NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *what = g_strdup_printf("[%s] %s", section, key);
	if (dk_url_policy_check(url, insecure, what, insecure_key, &error))
		return NULL;
	/* The policy's message starts with what: leave that to the report. */
	const char *why = error->message + strlen(what);
	return g_strdup(g_str_has_prefix(why, ": ") ? why + 2 : why);
}

/* ours=theirs, ours among names. */
static char *map_item_why(const char *item, const char *const *names, const char *what)
{
	const char *eq = strchr(item, '=');
	if (eq == NULL)
		return g_strdup_printf(
		    "“%s” is not NAME=VALUE (list items are separated by commas)", item);
	g_autofree char *ours = g_strstrip(g_strndup(item, (gsize)(eq - item)));
	g_autofree char *theirs = g_strstrip(g_strdup(eq + 1));
	if (*ours == '\0' || *theirs == '\0')
		return g_strdup_printf("“%s” is not NAME=VALUE with both sides", item);
	if (names != NULL && !g_strv_contains(names, ours)) {
		g_autofree char *list = g_strjoinv(", ", (char **)names);
		return g_strdup_printf("“%s” is not a %s (%s)", ours, what, list);
	}
	return NULL;
}

static const char *const statuses[] = {"new",     "open",     "in_progress", "waiting",
                                       "on_hold", "resolved", "closed",      NULL};

/* Why one item of a list is wrong, or NULL. */
static char *item_why(const DkConfig *config, const DkConfKey *k, const char *section,
                      const char *item)
{
	switch (k->check) {
	case DK_CHECK_ADDRESSES:
		return dk_conf_address_why(item);
	case DK_CHECK_RECIPIENTS:
		if (g_str_has_prefix(item, "*@") && strpbrk(item, " \t") == NULL)
			return dk_conf_domain_ok(item + 2)
			           ? NULL
			           : g_strdup_printf("“%s” has no valid domain after *@", item);
		return dk_conf_address_why(item);
	case DK_CHECK_DOMAINS:
		if (strpbrk(item, " \t") != NULL)
			return g_strdup_printf(
			    "“%s” is not one domain (list items are separated by "
			    "commas)",
			    item);
		return dk_conf_domain_ok(item) ? NULL
		                               : g_strdup_printf("“%s” is not a domain name", item);
	case DK_CHECK_LISTEN:
		return listen_why(item);
	case DK_CHECK_STATUS_MAP:
		return map_item_why(item, statuses, "ticket status");
	case DK_CHECK_PRIORITY_MAP:
		return map_item_why(item, dk_priority_names, "ticket priority");
	default:
		return NULL;
	}
}

/* Why a whole value is wrong, or NULL (lists item by item elsewhere). */
static char *value_why(const DkConfig *config, const DkConfKey *k, const char *section,
                       const char *value)
{
	guint64 mode = 0;
	g_auto(GStrv) items =
	    k->type == DK_CONF_LIST ? dk_config_get_list(config, section, k->key) : NULL;
	switch (k->check) {
	case DK_CHECK_ADDRESS:
		return dk_conf_address_why(value);
	case DK_CHECK_DOMAIN:
		return dk_conf_domain_ok(value)
		           ? NULL
		           : g_strdup_printf("“%s” is not a domain name", value);
	case DK_CHECK_HOST:
		return g_hostname_is_ip_address(value) || dk_conf_domain_ok(value)
		           ? NULL
		           : g_strdup_printf("“%s” is not a host name or IP address", value);
	case DK_CHECK_INET:
		return inet_why(value);
	case DK_CHECK_MODE:
		return g_ascii_string_to_unsigned(value, 8, 0, 0777, &mode, NULL)
		           ? NULL
		           : g_strdup_printf("“%s” is not an octal mode like 0660", value);
	case DK_CHECK_GROUP:
		return getgrnam(value) != NULL
		           ? NULL
		           : g_strdup_printf("there is no group “%s” on this system", value);
	case DK_CHECK_CHARSET: {
		GIConv cd = g_iconv_open("UTF-8", value);
		if (cd == (GIConv)-1)
			return g_strdup_printf("“%s” is not a charset this system can convert",
			                       value);
		g_iconv_close(cd);
		return NULL;
	}
	case DK_CHECK_WORD:
		return strpbrk(value, " \t") == NULL
		           ? NULL
		           : g_strdup_printf("“%s” must be one word, without spaces", value);
	case DK_CHECK_REGEX:
		return regex_why(value);
	case DK_CHECK_SIEVE:
		return sieve_why((DkConfig *)config, value);
	case DK_CHECK_SLA_TARGET: {
		gint64 first, resolution;
		g_autoptr(GError) error = NULL;
		return dk_sla_policy_parse_target(value, &first, &resolution, &error)
		           ? NULL
		           : g_strdup(error->message);
	}
	case DK_CHECK_HOURS:
		return calendar_why((const char *const *)items, NULL, NULL);
	case DK_CHECK_TIMEZONE:
		return calendar_why(NULL, value, NULL);
	case DK_CHECK_DATES:
		return calendar_why(NULL, NULL, (const char *const *)items);
	case DK_CHECK_DATES_FILE:
		return dates_file_why(value);
	case DK_CHECK_FILE:
		return file_why(value);
	case DK_CHECK_SECRET_FILE: {
		g_autoptr(GError) error = NULL;
		int fd = dk_secret_file_open(value, &error);
		if (fd < 0)
			return g_strdup(error->message);
		close(fd);
		return NULL;
	}
	case DK_CHECK_DIR:
		return g_file_test(value, G_FILE_TEST_IS_DIR)
		           ? NULL
		           : g_strdup_printf("%s is not a directory", value);
	case DK_CHECK_SMTP_URL:
		return smtp_url_why(value);
	case DK_CHECK_HTTP_URL:
		return http_url_why(config, section, k->key, value);
	case DK_CHECK_PG_URL:
		return dk_conf_pg_url_why(value);
	default:
		return NULL;
	}
}

/* Checks one key of one section. */
static void check_key(DkConfig *config, DkConfReport *r, const char *section, const DkConfKey *k)
{
	if (k->check == DK_CHECK_NONE)
		return;
	const char *value = dk_conf_raw(config, section, k->key);
	/* Empty is "unset". A default the file leaves is not checked: each is
	 * valid (test-config writes every one into a file and checks it), and
	 * checking would cost every `docket deliver` what the check looks up
	 * (the converter of the fallback charset). */
	if (*value == '\0' || !dk_conf_is_set(config, section, k->key))
		return;
	g_autofree char *why = value_why(config, k, section, value);
	if (why != NULL) {
		dk_conf_report_key(r, section, k->key, "%s", why);
		return;
	}
	if (k->type != DK_CONF_LIST)
		return;
	g_auto(GStrv) items = dk_config_get_list(config, section, k->key);
	for (guint i = 0; items[i] != NULL; i++) {
		g_autofree char *item = item_why(config, k, section, items[i]);
		if (item != NULL)
			dk_conf_report_key(r, section, k->key, "%s", item);
	}
}

void dk_conf_check_values(DkConfig *config, DkConfReport *r)
{
	g_auto(GStrv) groups = g_key_file_get_groups(config->values, NULL);
	for (guint g = 0; groups[g] != NULL; g++) {
		for (gsize i = 0; i < dk_conf_schema_len; i++) {
			const DkConfKey *k = &dk_conf_schema[i];
			if (dk_conf_section_matches(k->section, groups[g]))
				check_key(config, r, groups[g], k);
		}
	}
}
