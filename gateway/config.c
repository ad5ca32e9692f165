/* Reads docket.conf: its own line reader (so that every error names its
 * line, and a key set twice is caught), the type of every value against
 * the schema (config-schema.c), then the validator (config-check.c). All
 * errors are reported at once. */
#include "gateway/config-private.h"

#include "gateway/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_REPORTED 50 /* errors listed; the rest are counted */

gboolean dk_conf_parse_size(const char *s, gint64 *out)
{
	char *end = NULL;
	errno = 0;
	gint64 v = g_ascii_strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0 || !g_ascii_isdigit(*s))
		return FALSE;
	int shift = 0;
	switch (g_ascii_toupper(*end)) {
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (g_ascii_toupper(*end) == 'B' && shift > 0)
		end++;
	while (g_ascii_isspace(*end))
		end++;
	if (*end != '\0' || v > (G_MAXINT64 >> shift))
		return FALSE;
	*out = v << shift;
	return TRUE;
}

static gboolean parse_bool(const char *s, gboolean *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1", NULL};
	static const char *const no[] = {"false", "no", "off", "0", NULL};
	if (g_strv_contains(yes, s))
		*out = TRUE;
	else if (g_strv_contains(no, s))
		*out = FALSE;
	else
		return FALSE;
	return TRUE;
}

/* Checks one value against its type; returns an explanation or NULL. */
static char *check_type(const DkConfKey *k, const char *value)
{
	gint64 n;
	gboolean b;
	switch (k->type) {
	case DK_CONF_INT:
	case DK_CONF_SIZE:
		if (k->type == DK_CONF_INT
		        ? !g_ascii_string_to_signed(value, 10, G_MININT64, G_MAXINT64, &n, NULL)
		        : !dk_conf_parse_size(value, &n))
			return g_strdup_printf("“%s” is not %s", value,
			                       k->type == DK_CONF_INT ? "an integer"
			                                              : "a size (e.g. 512K, 10M)");
		if (n < k->min || (k->max > 0 && n > k->max))
			return g_strdup_printf("%s is out of range [%" G_GINT64_FORMAT
			                       ", %" G_GINT64_FORMAT "]",
			                       value, k->min, k->max);
		return NULL;
	case DK_CONF_BOOL:
		return parse_bool(value, &b) ? NULL
		                             : g_strdup_printf("“%s” is not true or false", value);
	case DK_CONF_ENUM: {
		g_auto(GStrv) choices = g_strsplit(k->choices, "|", -1);
		if (g_strv_contains((const char *const *)choices, value))
			return NULL;
		return g_strdup_printf("“%s” is not one of %s", value, k->choices);
	}
	case DK_CONF_STRING:
	case DK_CONF_LIST:
		return NULL;
	}
	return NULL;
}

static void report_va(DkConfReport *r, int line, const char *section, const char *key,
                      const char *format, va_list ap)
{
	g_autofree char *why = g_strdup_vprintf(format, ap);
	GString *text = g_string_new(NULL);
	const char *path = r->config->path ? r->config->path : "(defaults)";
	g_string_append_printf(text, "%s:%d: ", path, line);
	if (section != NULL && key != NULL)
		g_string_append_printf(text, "[%s] %s: ", section, key);
	else if (section != NULL)
		g_string_append_printf(text, "[%s]: ", section);
	g_string_append(text, why);
	DkConfError e = {line, r->errors->len, g_string_free(text, FALSE)};
	g_array_append_val(r->errors, e);
}

void dk_conf_report(DkConfReport *r, int line, const char *section, const char *key,
                    const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	report_va(r, line, section, key, format, ap);
	va_end(ap);
}

static int line_of(const DkConfig *c, const char *section, const char *key)
{
	g_autofree char *id = g_strconcat(section, "\n", key, NULL);
	gpointer line = g_hash_table_lookup(c->lines, id);
	if (line == NULL)
		line = g_hash_table_lookup(c->lines, section);
	return GPOINTER_TO_INT(line);
}

gboolean dk_conf_is_set(const DkConfig *config, const char *section, const char *key)
{
	g_autofree char *id = g_strconcat(section, "\n", key, NULL);
	return g_hash_table_contains(config->lines, id);
}

void dk_conf_report_key(DkConfReport *r, const char *section, const char *key, const char *format,
                        ...)
{
	va_list ap;
	va_start(ap, format);
	report_va(r, line_of(r->config, section, key), section, key, format, ap);
	va_end(ap);
}

void dk_conf_note(DkConfig *config, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	char *note = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_ptr_array_insert(config->notes, (gint)config->notes->len - 1, note);
}

static void derived_free(gpointer p);

/* A value of the cache, with the type the schema gives its key. */
typedef struct {
	char *value;
	DkConfType type;
} Cached;

static void cached_free(gpointer p)
{
	Cached *entry = p;
	g_free(entry->value);
	g_free(entry);
}

static DkConfig *config_new(const char *path)
{
	DkConfig *c = g_new0(DkConfig, 1);
	c->path = g_strdup(path);
	c->values = g_key_file_new();
	c->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	c->notes = g_ptr_array_new_with_free_func(g_free);
	c->derived = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, derived_free);
	g_ptr_array_add(c->notes, NULL);
	c->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cached_free);
	g_mutex_init(&c->lock);
	return c;
}

/* What the line reader knows between lines. */
typedef struct {
	DkConfig *c;
	DkConfReport *r;
	char *section;  /* the current section, NULL before the first */
	gboolean known; /* the current section is in the schema */
} Reader;

static gboolean valid_key_name(const char *key)
{
	if (*key == '\0')
		return FALSE;
	for (const char *p = key; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
			return FALSE;
	return TRUE;
}

static void read_section(Reader *rd, const char *line, int n)
{
	gsize len = strlen(line);
	g_autofree char *name = g_strstrip(g_strndup(line + 1, len > 1 ? len - 2 : 0));
	g_clear_pointer(&rd->section, g_free);
	rd->known = FALSE;
	if (line[len - 1] != ']' || *name == '\0' || strpbrk(name, "[]") != NULL) {
		dk_conf_report(rd->r, n, NULL, NULL, "“%s” is not a section header like [lmtp]",
		               line);
		return;
	}
	rd->section = g_strdup(name);
	if (dk_conf_schema_find(name, NULL) == NULL) {
		g_autofree char *hint = dk_conf_schema_suggest_section(name);
		dk_conf_report(rd->r, n, NULL, NULL, "unknown section [%s]%s%s", name,
		               hint ? ": " : "", hint ? hint : "");
		return;
	}
	rd->known = TRUE;
	/* A section written twice is one section (its keys may not repeat). */
	if (!g_hash_table_contains(rd->c->lines, name))
		g_hash_table_insert(rd->c->lines, g_strdup(name), GINT_TO_POINTER(n));
	/* GKeyFile makes a group with its first key: an empty [imap:x] is an
	 * account too, with every default. */
	if (!g_key_file_has_group(rd->c->values, name)) {
		g_key_file_set_value(rd->c->values, name, "_", "");
		g_key_file_remove_key(rd->c->values, name, "_", NULL);
	}
}

static void read_value(Reader *rd, const DkConfKey *entry, const char *key, const char *value,
                       int n)
{
	g_autofree char *id = g_strconcat(rd->section, "\n", key, NULL);
	gpointer first = g_hash_table_lookup(rd->c->lines, id);
	if (first != NULL) {
		dk_conf_report(rd->r, n, rd->section, key, "set twice (first on line %d)",
		               GPOINTER_TO_INT(first));
		return;
	}
	g_hash_table_insert(rd->c->lines, g_steal_pointer(&id), GINT_TO_POINTER(n));
	g_autofree char *why = check_type(entry, value);
	if (why != NULL) {
		/* "key = value # comment" is one value: say so. */
		gboolean comment = strstr(value, " #") != NULL || strstr(value, " ;") != NULL ||
		                   strstr(value, "\t#") != NULL || strstr(value, "\t;") != NULL;
		dk_conf_report(rd->r, n, rd->section, key, "%s%s", why,
		               comment ? " (a comment must stand on a line of its own)" : "");
		return;
	}
	g_key_file_set_value(rd->c->values, rd->section, key, value);
}

static void read_pair(Reader *rd, char *line, int n)
{
	char *eq = strchr(line, '=');
	if (eq == NULL) {
		dk_conf_report(rd->r, n, NULL, NULL,
		               "expected “[section]” or “key = value”, found “%s”", line);
		return;
	}
	*eq = '\0';
	const char *key = g_strstrip(line);
	const char *value = g_strstrip(eq + 1);
	if (rd->section == NULL) {
		dk_conf_report(rd->r, n, NULL, NULL, "“%s = …” comes before any [section]", key);
		return;
	}
	if (!rd->known)
		return; /* the unknown section was reported */
	if (!valid_key_name(key)) {
		dk_conf_report(rd->r, n, rd->section, NULL, "“%s” is not a key name", key);
		return;
	}
	const DkConfKey *entry = dk_conf_schema_find(rd->section, key);
	if (entry == NULL) {
		g_autofree char *hint = dk_conf_schema_suggest_key(rd->section, key);
		dk_conf_report(rd->r, n, NULL, NULL, "unknown key “%s” in [%s]%s%s", key,
		               rd->section, hint ? ": " : "", hint ? hint : "");
		return;
	}
	read_value(rd, entry, key, value, n);
}

/* Reads every line; what is wrong goes to r. */
static void read_text(DkConfig *c, char *text, DkConfReport *r)
{
	Reader rd = {.c = c, .r = r};
	char *next = text;
	for (int n = 1; next != NULL; n++) {
		char *line = next;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (!g_utf8_validate(line, -1, NULL)) {
			dk_conf_report(r, n, NULL, NULL, "the line is not UTF-8 text");
			continue;
		}
		g_strstrip(line);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[')
			read_section(&rd, line, n);
		else
			read_pair(&rd, line, n);
	}
	g_free(rd.section);
}

/* Fills in every default, including those of each instance section. */
static void fill_defaults(DkConfig *c)
{
	g_auto(GStrv) groups = g_key_file_get_groups(c->values, NULL);
	for (gsize i = 0; i < dk_conf_schema_len; i++) {
		const DkConfKey *k = &dk_conf_schema[i];
		if (strstr(k->section, ":*") == NULL) {
			if (!g_key_file_has_key(c->values, k->section, k->key, NULL))
				g_key_file_set_value(c->values, k->section, k->key, k->value);
			continue;
		}
		for (int g = 0; groups[g] != NULL; g++) {
			if (dk_conf_section_matches(k->section, groups[g]) &&
			    !g_key_file_has_key(c->values, groups[g], k->key, NULL))
				g_key_file_set_value(c->values, groups[g], k->key, k->value);
		}
	}
}

DkConfig *dk_config_new_default(void)
{
	DkConfig *c = config_new(NULL);
	fill_defaults(c);
	return c;
}

static void error_clear(gpointer data)
{
	g_free(((DkConfError *)data)->text);
}

static gint by_line(gconstpointer a, gconstpointer b)
{
	const DkConfError *x = a, *y = b;
	return x->line != y->line ? x->line - y->line
	                          : (x->order > y->order) - (x->order < y->order);
}

static DkConfReport report_new(const DkConfig *c)
{
	DkConfReport r = {.config = c, .errors = g_array_new(FALSE, FALSE, sizeof(DkConfError))};
	g_array_set_clear_func(r.errors, error_clear);
	return r;
}

/* Validates c (already read into it, with the errors so far in r); the
 * configuration, or NULL and every error, in the order of the lines. */
static DkConfig *finish(DkConfig *c, DkConfReport *r, GError **error)
{
	dk_conf_check(c, r);
	g_autoptr(GArray) errors = r->errors;
	if (errors->len == 0)
		return c;
	g_array_sort(errors, by_line);
	g_autoptr(GString) text = g_string_new(NULL);
	for (guint i = 0; i < MIN(errors->len, MAX_REPORTED); i++)
		g_string_append_printf(text, "%s%s", i ? "\n" : "",
		                       g_array_index(errors, DkConfError, i).text);
	if (errors->len > MAX_REPORTED)
		g_string_append_printf(text, "\n%s: %u more errors", c->path,
		                       errors->len - MAX_REPORTED);
	g_set_error_literal(error, DK_ERROR, DK_ERROR_CONFIG, text->str);
	dk_config_free(c);
	return NULL;
}

DkConfig *dk_config_load(const char *path, GError **error)
{
	if (path == NULL)
		path = g_getenv("DOCKET_CONFIG");
	if (path == NULL || *path == '\0') {
		DkConfig *c = dk_config_new_default();
		DkConfReport r = report_new(c);
		return finish(c, &r, error);
	}
	g_autofree char *text = NULL;
	gsize len = 0;
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s: %s", path,
		            g_file_test(path, G_FILE_TEST_EXISTS) ? "not a regular file"
		                                                  : "no such configuration file");
		return NULL;
	}
	if (access(path, R_OK) != 0 || !g_file_get_contents(path, &text, &len, NULL)) {
		int saved = errno;
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "%s: cannot read the configuration: %s", path, g_strerror(saved));
		return NULL;
	}
	return dk_config_load_data(text, len, path, error);
}

DkConfig *dk_config_load_data(const char *data, gsize len, const char *name, GError **error)
{
	/* The line reader reads C strings: a NUL would hide the rest. */
	const char *nul = memchr(data, '\0', len);
	if (nul != NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "%s: a NUL byte at offset %" G_GSIZE_FORMAT, name, (gsize)(nul - data));
		return NULL;
	}
	g_autofree char *text = g_strndup(data, len);
	DkConfig *c = config_new(name);
	DkConfReport r = report_new(c);
	read_text(c, text, &r);
	fill_defaults(c);
	return finish(c, &r, error);
}

const char *dk_config_path(const DkConfig *config)
{
	return config->path;
}

const char *const *dk_config_notes(const DkConfig *config)
{
	return (const char *const *)config->notes->pdata;
}

typedef struct {
	gpointer data;
	GDestroyNotify destroy;
} Derived;

static void derived_free(gpointer p)
{
	Derived *d = p;
	if (d->destroy != NULL)
		d->destroy(d->data);
	g_free(d);
}

void dk_conf_set_derived(DkConfig *config, const char *name, gpointer data, GDestroyNotify destroy)
{
	Derived *d = g_new0(Derived, 1);
	d->data = data;
	d->destroy = destroy;
	g_hash_table_insert(config->derived, g_strdup(name), d);
}

gpointer dk_config_get_derived(const DkConfig *config, const char *name)
{
	Derived *d = g_hash_table_lookup(config->derived, name);
	return d ? d->data : NULL;
}

int dk_config_line(const DkConfig *config, const char *section, const char *key)
{
	return line_of(config, section, key);
}

/* The cache's key of section and key, in buf when it fits. */
static const char *cache_id(const char *section, const char *key, char *buf, gsize size,
                            char **long_out)
{
	if ((gsize)g_snprintf(buf, size, "%s\n%s", section, key) < size)
		return buf;
	return *long_out = g_strconcat(section, "\n", key, NULL);
}

/* The writer reads a dozen settings for every message: a value found in
 * the cache costs neither an allocation nor a look-up in the schema (the
 * entry keeps its key's type for the check). */
static const char *lookup(const DkConfig *c, const char *section, const char *key, DkConfType type)
{
	char buf[96];
	g_autofree char *long_id = NULL;
	const char *id = cache_id(section, key, buf, sizeof buf, &long_id);
	/* An entry, once made, stays until the configuration is freed. */
	GMutex *lock = (GMutex *)&c->lock;
	g_mutex_lock(lock);
	Cached *entry = g_hash_table_lookup(c->cache, id);
	if (entry == NULL) {
		const DkConfKey *k = dk_conf_schema_find(section, key);
		g_assert(k != NULL);
		entry = g_new(Cached, 1);
		entry->type = k->type;
		entry->value = g_key_file_get_value(c->values, section, key, NULL);
		if (entry->value == NULL)
			entry->value = g_strdup(k->value);
		g_hash_table_insert(c->cache, g_strdup(id), entry);
	}
	g_mutex_unlock(lock);
	g_assert(entry->type == type || (type == DK_CONF_STRING && entry->type == DK_CONF_ENUM));
	return entry->value;
}

const char *dk_conf_raw(const DkConfig *config, const char *section, const char *key)
{
	return lookup(config, section, key, dk_conf_schema_find(section, key)->type);
}

const char *dk_config_get_string(const DkConfig *config, const char *section, const char *key)
{
	return lookup(config, section, key, DK_CONF_STRING);
}

gint64 dk_config_get_int(const DkConfig *config, const char *section, const char *key)
{
	const DkConfKey *k = dk_conf_schema_find(section, key);
	g_assert(k != NULL && (k->type == DK_CONF_INT || k->type == DK_CONF_SIZE));
	const char *v = lookup(config, section, key, k->type);
	gint64 n = 0;
	if (k->type == DK_CONF_SIZE)
		dk_conf_parse_size(v, &n);
	else
		n = g_ascii_strtoll(v, NULL, 10);
	return n;
}

gboolean dk_config_get_bool(const DkConfig *config, const char *section, const char *key)
{
	gboolean b = FALSE;
	parse_bool(lookup(config, section, key, DK_CONF_BOOL), &b);
	return b;
}

char **dk_config_get_list(const DkConfig *config, const char *section, const char *key)
{
	g_auto(GStrv) parts = g_strsplit(lookup(config, section, key, DK_CONF_LIST), ",", -1);
	g_autoptr(GStrvBuilder) out = g_strv_builder_new();
	for (int i = 0; parts[i] != NULL; i++) {
		g_strstrip(parts[i]);
		if (*parts[i] != '\0')
			g_strv_builder_add(out, parts[i]);
	}
	return g_strv_builder_end(out);
}

char **dk_config_get_instances(const DkConfig *config, const char *prefix)
{
	g_auto(GStrv) groups = g_key_file_get_groups(config->values, NULL);
	g_autoptr(GStrvBuilder) out = g_strv_builder_new();
	gsize plen = strlen(prefix);
	for (int g = 0; groups[g] != NULL; g++) {
		if (strncmp(groups[g], prefix, plen) == 0 && groups[g][plen] == ':' &&
		    groups[g][plen + 1])
			g_strv_builder_add(out, groups[g] + plen + 1);
	}
	return g_strv_builder_end(out);
}

char *dk_config_dump(const DkConfig *config)
{
	GString *out = g_string_new(NULL);
	g_auto(GStrv) groups = g_key_file_get_groups(config->values, NULL);
	for (int g = 0; groups[g] != NULL; g++) {
		g_string_append_printf(out, "%s[%s]\n", g > 0 ? "\n" : "", groups[g]);
		g_auto(GStrv) keys = g_key_file_get_keys(config->values, groups[g], NULL, NULL);
		for (int k = 0; keys[k] != NULL; k++) {
			const DkConfKey *entry = dk_conf_schema_find(groups[g], keys[k]);
			g_autofree char *v =
			    g_key_file_get_value(config->values, groups[g], keys[k], NULL);
			g_string_append_printf(out, "%s = %s\n", keys[k],
			                       (entry && entry->secret && *v) ? "********" : v);
		}
	}
	return g_string_free(out, FALSE);
}

void dk_config_free(DkConfig *config)
{
	if (config == NULL)
		return;
	g_free(config->path);
	g_key_file_free(config->values);
	g_hash_table_unref(config->lines);
	g_ptr_array_unref(config->notes);
	g_hash_table_unref(config->derived);
	g_hash_table_unref(config->cache);
	g_mutex_clear(&config->lock);
	g_free(config);
}
