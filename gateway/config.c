/* Reads and validates docket.conf against the schema of known keys. */
#include "gateway/config.h"

#include "gateway/core/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
	DK_CONF_STRING,
	DK_CONF_INT,   /* a plain integer */
	DK_CONF_SIZE,  /* bytes, with an optional K, M or G suffix */
	DK_CONF_BOOL,
	DK_CONF_LIST,  /* comma-separated */
	DK_CONF_ENUM,  /* one of choices, separated by | */
} DkConfType;

typedef struct {
	const char *section; /* "name" or "name:*" for one section per instance */
	const char *key;
	DkConfType type;
	const char *value; /* the default */
	gint64 min, max;   /* for INT and SIZE */
	const char *choices;
	gboolean secret;   /* masked in dumps */
} DkConfKey;

#define G64(x) G_GINT64_CONSTANT(x)

static const DkConfKey schema[] = {
	{"store", "data_dir", DK_CONF_STRING, "./var"},
	{"store", "inline_max", DK_CONF_SIZE, "256K", 0, G64(64) << 20},
	{"store", "busy_timeout_ms", DK_CONF_INT, "5000", 0, 600000},
	{"intake", "max_message_size", DK_CONF_SIZE, "64M", 1024, G64(4) << 30},
	{"lmtp", "listen", DK_CONF_LIST, "127.0.0.1:2424"},
	{"lmtp", "recipients", DK_CONF_LIST, ""},
	{"lmtp", "max_recipients", DK_CONF_INT, "100", 1, 100000},
	{"lmtp", "max_connections", DK_CONF_INT, "100", 1, 100000},
	{"lmtp", "timeout_seconds", DK_CONF_INT, "300", 1, 86400},
	{"lmtp", "data_timeout_seconds", DK_CONF_INT, "600", 1, 86400}, /* the whole DATA */
	{"lmtp", "hostname", DK_CONF_STRING, ""},
	{"lmtp", "unix_mode", DK_CONF_STRING, "0660"},
	{"lmtp", "unix_group", DK_CONF_STRING, ""},
	{"limits", "sender_per_hour", DK_CONF_INT, "0", 0, 1000000}, /* 0: no limit */
	{"limits", "sender_action", DK_CONF_ENUM, "tempfail", 0, 0, "tempfail|hold"},
	{"http", "listen", DK_CONF_STRING, ""},
	{"parse", "fallback_charset", DK_CONF_STRING, "windows-1252"},
	{"parse", "max_depth", DK_CONF_INT, "50", 1, 10000},
	{"parse", "max_parts", DK_CONF_INT, "1000", 1, 1000000},
	{"parse", "max_header_size", DK_CONF_SIZE, "1M", 1024, G64(1) << 30},
	{"parse", "max_decoded_size", DK_CONF_SIZE, "100M", 1024, G64(16) << 30},
	{"parse", "max_text_size", DK_CONF_SIZE, "1M", 1024, G64(1) << 30},
	{"parse", "own_domains", DK_CONF_LIST, ""},
	{"crypto", "gnupg_home", DK_CONF_STRING, ""}, /* empty: signatures not checked, nothing decrypted */
	{"threading", "token_prefix", DK_CONF_STRING, "docket"},
	{"threading", "secret", DK_CONF_STRING, "", .secret = TRUE},
	{"threading", "domain", DK_CONF_STRING, ""}, /* empty: the host name */
	{"threading", "follow_up", DK_CONF_ENUM, "new_ticket", 0, 0, "accept|new_ticket|reject"},
	{"threading", "reopen_days", DK_CONF_INT, "14", 0, 36500},
	{"threading", "reply_addresses", DK_CONF_BOOL, "false"},
	{"threading", "reply_address", DK_CONF_STRING, ""}, /* the base, e.g. support@example.com */
	{"threading", "organisation_domain_participants", DK_CONF_BOOL, "false"},
	{"agents", "addresses", DK_CONF_LIST, ""},
	{"agents", "domains", DK_CONF_LIST, ""},
	{"agents", "authserv_id", DK_CONF_STRING, ""}, /* empty: From alone identifies an agent */
	{"foreign:*", "pattern", DK_CONF_STRING, ""}, /* a GRegex; capture group 1 is the number */
	{"rules", "script", DK_CONF_STRING, ""},
	{"desk", "close_after_days", DK_CONF_INT, "7", 0, 36500},
	/* The conversation with the customer (gateway/desk/conversation.h). */
	{"desk", "reply_status", DK_CONF_ENUM, "waiting", 0, 0, "waiting|none"},
	{"desk", "copy_participants", DK_CONF_BOOL, "true"},
	/* SLA targets FIRST/RESOLUTION per priority (or none) and the
	 * business calendar they count in (gateway/desk/sla-policy.h). */
	{"sla", "critical", DK_CONF_STRING, "15m/4h"},
	{"sla", "high", DK_CONF_STRING, "1h/8h"},
	{"sla", "medium", DK_CONF_STRING, "4h/24h"},
	{"sla", "low", DK_CONF_STRING, "24h/72h"},
	{"sla", "none", DK_CONF_STRING, "none"},
	{"sla", "business_hours", DK_CONF_LIST, ""}, /* e.g. mon-fri 09:00-17:00; empty: around the clock */
	{"sla", "timezone", DK_CONF_STRING, ""},     /* an IANA name; empty: UTC */
	{"sla", "holidays", DK_CONF_LIST, ""},       /* local dates YYYY-MM-DD */
	{"sla", "holidays_file", DK_CONF_STRING, ""}, /* one date a line */
	{"sla", "check_seconds", DK_CONF_INT, "60", 1, 86400}, /* serve's breach check */
	/* [queue:NAME]: the SLA of one queue; an empty key takes [sla]'s value. */
	{"queue:*", "critical", DK_CONF_STRING, ""},
	{"queue:*", "high", DK_CONF_STRING, ""},
	{"queue:*", "medium", DK_CONF_STRING, ""},
	{"queue:*", "low", DK_CONF_STRING, ""},
	{"queue:*", "none", DK_CONF_STRING, ""},
	{"queue:*", "business_hours", DK_CONF_LIST, ""},
	{"queue:*", "timezone", DK_CONF_STRING, ""},
	{"queue:*", "holidays", DK_CONF_LIST, ""},
	{"queue:*", "holidays_file", DK_CONF_STRING, ""},
	{"queue:*", "copy_participants", DK_CONF_ENUM, "", 0, 0, "|true|false"}, /* empty: [desk]'s */
	{"smtp", "url", DK_CONF_STRING, ""}, /* smtp://host:587 or smtps://host:465 */
	{"smtp", "user", DK_CONF_STRING, ""},
	{"smtp", "password", DK_CONF_STRING, "", .secret = TRUE},
	{"smtp", "password_file", DK_CONF_STRING, ""},
	{"smtp", "starttls", DK_CONF_ENUM, "required", 0, 0, "required|insecure-optional|insecure-none"},
	{"smtp", "insecure_skip_verify", DK_CONF_BOOL, "false"},
	{"smtp", "timeout_seconds", DK_CONF_INT, "60", 1, 3600},
	{"notify", "transport", DK_CONF_ENUM, "auto", 0, 0, "auto|maildir|smtp|sendmail"}, /* auto: smtp when [smtp] url is set, else maildir */
	{"notify", "from", DK_CONF_STRING, ""}, /* empty: docket@<threading domain> */
	{"notify", "from_name", DK_CONF_STRING, "Support"},
	{"notify", "bounce_address", DK_CONF_STRING, ""}, /* VERP base; empty: bounces@<from's domain> */
	{"notify", "organisation", DK_CONF_STRING, ""},
	{"notify", "ack", DK_CONF_BOOL, "true"},
	{"notify", "rate_per_hour", DK_CONF_INT, "3", 0, 100000},
	{"notify", "templates_dir", DK_CONF_STRING, ""},
	{"notify", "team_addresses", DK_CONF_LIST, ""},
	{"notify", "customer_reply", DK_CONF_ENUM, "assignee", 0, 0, "assignee|none"},
	/* a reply's From name, Mustache over agent.name, agent.address, from_name */
	{"notify", "reply_from_name", DK_CONF_STRING, "{{#agent.name}}{{agent.name}} via {{/agent.name}}{{from_name}}"},
	{"notify", "ticket_link", DK_CONF_STRING, ""}, /* Mustache over ticket.number, ticket.token */
	{"notify", "attachment_max_size", DK_CONF_SIZE, "10M", 0, G64(1) << 30},  /* one file of a reply */
	{"notify", "attachment_max_total", DK_CONF_SIZE, "20M", 0, G64(4) << 30}, /* all files of a reply */
	{"notify", "sendmail", DK_CONF_STRING, "/usr/sbin/sendmail"},
	{"notify", "retry_initial_seconds", DK_CONF_INT, "60", 1, 86400},
	{"notify", "retry_max_seconds", DK_CONF_INT, "21600", 1, 604800},
	{"notify", "max_age_seconds", DK_CONF_INT, "432000", 1, G64(31536000)},
	{"notify", "poll_seconds", DK_CONF_INT, "5", 1, 3600},
	{"log", "level", DK_CONF_ENUM, "info", 0, 0, "error|warning|info|debug"},
	{"log", "syslog", DK_CONF_BOOL, "false"},
	{"log", "trace", DK_CONF_LIST, ""},
	/* [imap:NAME]: one IMAP account (gateway/intake/imap-account.h). */
	{"imap:*", "host", DK_CONF_STRING, ""},
	{"imap:*", "port", DK_CONF_INT, "0", 0, 65535}, /* 0: 993 for imaps, else 143 */
	{"imap:*", "tls", DK_CONF_ENUM, "imaps", 0, 0, "imaps|starttls|insecure-plain"},
	{"imap:*", "ca_file", DK_CONF_STRING, ""},
	{"imap:*", "user", DK_CONF_STRING, ""},
	{"imap:*", "password", DK_CONF_STRING, "", 0, 0, NULL, TRUE},
	{"imap:*", "password_file", DK_CONF_STRING, ""},
	{"imap:*", "auth", DK_CONF_ENUM, "login", 0, 0, "login|plain|xoauth2"},
	{"imap:*", "oauth_token_url", DK_CONF_STRING, ""},
	{"imap:*", "oauth_client_id", DK_CONF_STRING, ""},
	{"imap:*", "oauth_client_secret", DK_CONF_STRING, "", 0, 0, NULL, TRUE},
	{"imap:*", "oauth_client_secret_file", DK_CONF_STRING, ""},
	{"imap:*", "oauth_refresh_token", DK_CONF_STRING, "", 0, 0, NULL, TRUE},
	{"imap:*", "oauth_refresh_token_file", DK_CONF_STRING, ""},
	{"imap:*", "folders", DK_CONF_LIST, "INBOX"},
	{"imap:*", "after", DK_CONF_ENUM, "move", 0, 0, "move|flag"},
	{"imap:*", "processed_folder", DK_CONF_STRING, "Processed"},
	{"imap:*", "error_folder", DK_CONF_STRING, "Refused"},
	{"imap:*", "poll_seconds", DK_CONF_INT, "60", 1, 86400},
	{"imap:*", "idle", DK_CONF_BOOL, "true"},
	{"imap:*", "idle_renew_seconds", DK_CONF_INT, "1500", 1, 1740}, /* RFC 2177: under 29 min */
	{"imap:*", "timeout_seconds", DK_CONF_INT, "60", 1, 3600},
	{"imap:*", "batch_size", DK_CONF_INT, "50", 1, 1000},
	/* Help-desk connectors (gateway/outbox/connectors/connector.h). */
	{"connector:*", "type", DK_CONF_ENUM, "webhook", 0, 0,
	 "webhook|connectwise|incidentiq|ninjaone|opspilot|omnidesk"},
	{"connector:*", "base_url", DK_CONF_STRING, ""},
	{"connector:*", "credentials_file", DK_CONF_STRING, ""}, /* name = value lines */
	{"connector:*", "queues", DK_CONF_LIST, "*"},
	{"connector:*", "timeout_seconds", DK_CONF_INT, "30", 1, 600},
	{"connector:*", "max_parallel", DK_CONF_INT, "4", 1, 64}, /* requests at once */
	{"connector:*", "poll_seconds", DK_CONF_INT, "0", 0, 86400}, /* the way back: 0 off */
	{"connector:*", "attachment_max_bytes", DK_CONF_INT, "0", 0, 1073741824}, /* 0: the system's */
	{"connector:*", "ca_file", DK_CONF_STRING, ""},
	{"connector:*", "insecure_http", DK_CONF_BOOL, "false"}, /* http:// beyond loopback */
	{"connector:*", "reference_prefix", DK_CONF_STRING, "docket"},
	{"connector:*", "board", DK_CONF_STRING, ""},
	{"connector:*", "company", DK_CONF_STRING, ""},
	{"connector:*", "status_map", DK_CONF_LIST, ""},   /* ours=theirs, over the defaults */
	{"connector:*", "priority_map", DK_CONF_LIST, ""}, /* ours=theirs, over the defaults */
	/* Incident IQ (connectors/incidentiq.c): GUIDs for a new ticket. */
	{"connector:*", "location_id", DK_CONF_STRING, ""},
	{"connector:*", "issue_type_id", DK_CONF_STRING, ""},
	{"connector:*", "issue_category_id", DK_CONF_STRING, ""},
	{"connector:*", "issue_id", DK_CONF_STRING, ""},
	{"connector:*", "default_requester_id", DK_CONF_STRING, ""},
	{"connector:*", "ticket_form", DK_CONF_STRING, ""},     /* NinjaOne ticketFormId */
	/* domain=id, *=default: NinjaOne clientId, OpsPilot customerId, Omnidesk brandID */
	{"connector:*", "organisation_map", DK_CONF_LIST, ""},
	{"connector:*", "brand", DK_CONF_STRING, ""},      /* Omnidesk default brandID */
	{"connector:*", "channel", DK_CONF_INT, "1", 1, 1000000}, /* Omnidesk: mail's channelID */
	{"connector:*", "note_type", DK_CONF_STRING, "calllog"}, /* Omnidesk: type of support's messages */
	{"connector:*", "api_key_in", DK_CONF_ENUM, "query", 0, 0, "query|header"}, /* Omnidesk */
};

struct DkConfig {
	char *path;
	GKeyFile *values; /* the effective values, defaults filled in */
	GHashTable *cache; /* "section\nkey" -> value: GKeyFile only hands out copies */
	GMutex lock;       /* over cache: threads (the outbox lanes) read at once */
};

static const DkConfKey *schema_find(const char *section, const char *key)
{
	for (gsize i = 0; i < G_N_ELEMENTS(schema); i++) {
		const DkConfKey *k = &schema[i];
		if (key != NULL && strcmp(k->key, key) != 0)
			continue;
		const char *star = strstr(k->section, ":*");
		if (star != NULL) {
			gsize plen = (gsize)(star - k->section) + 1;
			if (strncmp(section, k->section, plen) == 0 && section[plen] != '\0')
				return k;
		} else if (strcmp(k->section, section) == 0) {
			return k;
		}
	}
	return NULL;
}

static gboolean parse_size(const char *s, gint64 *out)
{
	char *end = NULL;
	errno = 0;
	gint64 v = g_ascii_strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0)
		return FALSE;
	int shift = 0;
	switch (g_ascii_toupper(*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	default: break;
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

/* Checks one value against its schema entry; returns an explanation or NULL. */
static char *check_value(const DkConfKey *k, const char *value)
{
	gint64 n;
	gboolean b;
	switch (k->type) {
	case DK_CONF_INT:
	case DK_CONF_SIZE:
		if (k->type == DK_CONF_INT ? !g_ascii_string_to_signed(value, 10, G_MININT64, G_MAXINT64, &n, NULL)
					   : !parse_size(value, &n))
			return g_strdup_printf("“%s” is not %s", value,
					       k->type == DK_CONF_INT ? "an integer" : "a size (e.g. 512K, 10M)");
		if (n < k->min || (k->max > 0 && n > k->max))
			return g_strdup_printf("%s is out of range [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
					       value, k->min, k->max);
		return NULL;
	case DK_CONF_BOOL:
		return parse_bool(value, &b) ? NULL : g_strdup_printf("“%s” is not true or false", value);
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

/* GKeyFile does not say where a key stood, so find it in the text. */
static int find_line(const char *text, const char *section, const char *key)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	gboolean in_section = FALSE;
	for (int i = 0; lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]);
		if (line[0] == '[') {
			char *close = strchr(line, ']');
			in_section = close != NULL && (gsize)(close - line - 1) == strlen(section) &&
				     strncmp(line + 1, section, strlen(section)) == 0;
			if (in_section && key == NULL)
				return i + 1;
		} else if (in_section && key != NULL) {
			gsize kl = strlen(key);
			if (strncmp(line, key, kl) == 0 && (line[kl] == '=' || line[kl] == ' ' || line[kl] == '\t'))
				return i + 1;
		}
	}
	return 0;
}

/* GKeyFile's own syntax errors carry no line number: check the lines first. */
static gboolean check_syntax(const char *path, const char *text, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i] != NULL; i++) {
		const char *line = g_strstrip(lines[i]);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[' ? strchr(line, ']') != NULL : strchr(line, '=') != NULL)
			continue;
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s:%d: expected “[section]” or “key = value”, found “%s”",
			    path, i + 1, line);
		return FALSE;
	}
	return TRUE;
}

static gboolean validate_file(DkConfig *c, GKeyFile *file, const char *text, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(file, NULL);
	for (int g = 0; groups[g] != NULL; g++) {
		if (schema_find(groups[g], NULL) == NULL) {
			g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s:%d: unknown section [%s]", c->path,
				    find_line(text, groups[g], NULL), groups[g]);
			return FALSE;
		}
		g_auto(GStrv) keys = g_key_file_get_keys(file, groups[g], NULL, NULL);
		for (int k = 0; keys[k] != NULL; k++) {
			const DkConfKey *entry = schema_find(groups[g], keys[k]);
			int line = find_line(text, groups[g], keys[k]);
			if (entry == NULL) {
				g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s:%d: unknown key “%s” in [%s]",
					    c->path, line, keys[k], groups[g]);
				return FALSE;
			}
			g_autofree char *value = g_key_file_get_value(file, groups[g], keys[k], NULL);
			g_strstrip(value);
			g_autofree char *why = check_value(entry, value);
			if (why != NULL) {
				g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s:%d: [%s] %s: %s", c->path, line,
					    groups[g], keys[k], why);
				return FALSE;
			}
			g_key_file_set_value(c->values, groups[g], keys[k], value);
		}
	}
	return TRUE;
}

/* Fills in every default, including those of each instance section. */
static void fill_defaults(DkConfig *c)
{
	g_auto(GStrv) groups = g_key_file_get_groups(c->values, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(schema); i++) {
		const DkConfKey *k = &schema[i];
		if (strstr(k->section, ":*") == NULL) {
			if (!g_key_file_has_key(c->values, k->section, k->key, NULL))
				g_key_file_set_value(c->values, k->section, k->key, k->value);
			continue;
		}
		for (int g = 0; groups[g] != NULL; g++) {
			if (schema_find(groups[g], k->key) == k &&
			    !g_key_file_has_key(c->values, groups[g], k->key, NULL))
				g_key_file_set_value(c->values, groups[g], k->key, k->value);
		}
	}
}

DkConfig *dk_config_new_default(void)
{
	DkConfig *c = g_new0(DkConfig, 1);
	c->values = g_key_file_new();
	c->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_mutex_init(&c->lock);
	fill_defaults(c);
	return c;
}

DkConfig *dk_config_load(const char *path, GError **error)
{
	if (path == NULL)
		path = g_getenv("DOCKET_CONFIG");
	if (path == NULL || *path == '\0')
		return dk_config_new_default();
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, &text, &len, &local)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s", local->message);
		return NULL;
	}
	return dk_config_load_data(text, len, path, error);
}

DkConfig *dk_config_load_data(const char *data, gsize len, const char *name, GError **error)
{
	/* The line checks below read C strings: a NUL would hide the rest. */
	const char *nul = memchr(data, '\0', len);
	if (nul != NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s: a NUL byte at offset %" G_GSIZE_FORMAT, name,
			    (gsize)(nul - data));
		return NULL;
	}
	g_autofree char *text = g_strndup(data, len);
	g_autoptr(GError) local = NULL;
	g_autoptr(DkConfig) c = g_new0(DkConfig, 1);
	c->path = g_strdup(name);
	c->values = g_key_file_new();
	c->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_mutex_init(&c->lock);
	if (!check_syntax(name, text, error))
		return NULL;
	g_autoptr(GKeyFile) file = g_key_file_new();
	if (!g_key_file_load_from_data(file, text, len, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s: %s", name, local->message);
		return NULL;
	}
	if (!validate_file(c, file, text, error))
		return NULL;
	fill_defaults(c);
	return g_steal_pointer(&c);
}

const char *dk_config_path(const DkConfig *config)
{
	return config->path;
}

static const char *lookup(const DkConfig *c, const char *section, const char *key, DkConfType type)
{
	const DkConfKey *k = schema_find(section, key);
	g_assert(k != NULL && (k->type == type || (type == DK_CONF_STRING && k->type == DK_CONF_ENUM)));
	g_autofree char *id = g_strconcat(section, "\n", key, NULL);
	/* An entry, once made, stays until the configuration is freed. */
	GMutex *lock = (GMutex *)&c->lock;
	g_mutex_lock(lock);
	char *value = g_hash_table_lookup(c->cache, id);
	if (value == NULL) {
		value = g_key_file_get_value(c->values, section, key, NULL);
		if (value == NULL)
			value = g_strdup(k->value);
		g_hash_table_insert(c->cache, g_steal_pointer(&id), value);
	}
	g_mutex_unlock(lock);
	return value;
}

const char *dk_config_get_string(const DkConfig *config, const char *section, const char *key)
{
	return lookup(config, section, key, DK_CONF_STRING);
}

gint64 dk_config_get_int(const DkConfig *config, const char *section, const char *key)
{
	const DkConfKey *k = schema_find(section, key);
	g_assert(k != NULL && (k->type == DK_CONF_INT || k->type == DK_CONF_SIZE));
	const char *v = lookup(config, section, key, k->type);
	gint64 n = 0;
	if (k->type == DK_CONF_SIZE)
		parse_size(v, &n);
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
		if (strncmp(groups[g], prefix, plen) == 0 && groups[g][plen] == ':' && groups[g][plen + 1])
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
			const DkConfKey *entry = schema_find(groups[g], keys[k]);
			g_autofree char *v = g_key_file_get_value(config->values, groups[g], keys[k], NULL);
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
	g_hash_table_unref(config->cache);
	g_mutex_clear(&config->lock);
	g_free(config);
}
