/* The schema of docket.conf: every key docket reads, its type, default and
 * meaning (how config-check.c checks it), and the spelling help for keys
 * and sections it does not know. */
#include "gateway/config-private.h"

#include <string.h>

#define G64(x) G_GINT64_CONSTANT(x)

/* One key a line, its comment beside it: kept from clang-format. */
/* clang-format off */
const DkConfKey dk_conf_schema[] = {
    {"store", "data_dir", DK_CONF_STRING, "./var"},
    {"store", "inline_max", DK_CONF_SIZE, "256K", 0, G64(64) << 20},
    {"store", "busy_timeout_ms", DK_CONF_INT, "5000", 0, 600000},
    /* postgresql: several gateways on one database (config-store.c) */
    {"store", "backend", DK_CONF_ENUM, "sqlite", 0, 0, "sqlite|postgresql"},
    {"store", "url", DK_CONF_STRING, "", .check = DK_CHECK_PG_URL}, /* a libpq URI, no password */
    {"store", "password_file", DK_CONF_STRING, "", .check = DK_CHECK_SECRET_FILE},
    {"store", "insecure_tls", DK_CONF_BOOL, "false"}, /* less than sslmode=verify-full */
    {"store", "keep_raw_days", DK_CONF_INT, "0", 0, 36500}, /* 0: raw mail kept forever */
    {"intake", "max_message_size", DK_CONF_SIZE, "64M", 1024, G64(4) << 30},
    {"lmtp", "listen", DK_CONF_LIST, "127.0.0.1:2424", .check = DK_CHECK_LISTEN},
    {"lmtp", "recipients", DK_CONF_LIST, "", .check = DK_CHECK_RECIPIENTS},
    {"lmtp", "max_recipients", DK_CONF_INT, "100", 1, 100000},
    {"lmtp", "max_connections", DK_CONF_INT, "100", 1, 100000},
    {"lmtp", "timeout_seconds", DK_CONF_INT, "300", 1, 86400},
    {"lmtp", "data_timeout_seconds", DK_CONF_INT, "600", 1, 86400}, /* the whole DATA */
    {"lmtp", "hostname", DK_CONF_STRING, "", .check = DK_CHECK_HOST},
    {"lmtp", "unix_mode", DK_CONF_STRING, "0660", .check = DK_CHECK_MODE},
    {"lmtp", "unix_group", DK_CONF_STRING, "", .check = DK_CHECK_GROUP},
    {"limits", "sender_per_hour", DK_CONF_INT, "0", 0, 1000000}, /* 0: no limit */
    {"limits", "sender_action", DK_CONF_ENUM, "tempfail", 0, 0, "tempfail|hold"},
    {"http", "listen", DK_CONF_STRING, "", .check = DK_CHECK_INET},
    {"http", "timeout_seconds", DK_CONF_INT, "10", 1, 3600}, /* each request; each idle wait */
    {"http", "max_connections", DK_CONF_INT, "32", 1, 10000}, /* the oldest makes room */
    {"http", "tls_certificate", DK_CONF_STRING, "", .check = DK_CHECK_FILE}, /* PEM, with the chain */
    {"http", "tls_key", DK_CONF_STRING, "", .check = DK_CHECK_SECRET_FILE}, /* PEM */
    {"http", "max_body_size", DK_CONF_SIZE, "32M", 1024, G64(1) << 30}, /* a request's body */
    {"http", "session_hours", DK_CONF_INT, "12", 1, 720}, /* a web desk log-in lasts */
    {"http", "insecure_plain", DK_CONF_BOOL, "false"}, /* logins over plain HTTP beyond loopback */
    {"parse", "fallback_charset", DK_CONF_STRING, "windows-1252", .check = DK_CHECK_CHARSET},
    {"parse", "max_depth", DK_CONF_INT, "50", 1, 10000},
    {"parse", "max_parts", DK_CONF_INT, "1000", 1, 1000000},
    {"parse", "max_header_size", DK_CONF_SIZE, "1M", 1024, G64(1) << 30},
    {"parse", "max_decoded_size", DK_CONF_SIZE, "100M", 1024, G64(16) << 30},
    {"parse", "max_text_size", DK_CONF_SIZE, "1M", 1024, G64(1) << 30},
    /* the wall-clock budget of one message's walk over its parts */
    {"parse", "time_limit_ms", DK_CONF_INT, "10000", 1, 3600000},
    {"parse", "own_domains", DK_CONF_LIST, "", .check = DK_CHECK_DOMAINS},
    /* empty: signatures not checked, nothing decrypted */
    {"crypto", "gnupg_home", DK_CONF_STRING, "", .check = DK_CHECK_DIR},
    {"threading", "token_prefix", DK_CONF_STRING, "docket", .check = DK_CHECK_WORD},
    {"threading", "secret", DK_CONF_STRING, "", .secret = TRUE},
    {"threading", "domain", DK_CONF_STRING, "",
     .check = DK_CHECK_DOMAIN}, /* empty: the host name */
    {"threading", "follow_up", DK_CONF_ENUM, "new_ticket", 0, 0, "accept|new_ticket|reject"},
    {"threading", "reopen_days", DK_CONF_INT, "14", 0, 36500},
    {"threading", "reply_addresses", DK_CONF_BOOL, "false"},
    {"threading", "reply_address", DK_CONF_STRING, "",
     .check = DK_CHECK_ADDRESS}, /* the base, e.g. support@example.com */
    {"threading", "organisation_domain_participants", DK_CONF_BOOL, "false"},
    {"agents", "addresses", DK_CONF_LIST, "", .check = DK_CHECK_ADDRESSES},
    {"agents", "domains", DK_CONF_LIST, "", .check = DK_CHECK_DOMAINS},
    /* our MTA's Authentication-Results id */
    {"agents", "authserv_id", DK_CONF_STRING, "", .check = DK_CHECK_WORD},
    {"agents", "alignment", DK_CONF_ENUM, "strict", 0, 0, "strict|relaxed"}, /* DKIM/SPF domain vs From */
    {"agents", "insecure_trust_from", DK_CONF_BOOL, "false"}, /* the From alone verifies an agent */
    {"foreign:*", "pattern", DK_CONF_STRING, "",
     .check = DK_CHECK_REGEX}, /* a GRegex; capture group 1 is the number */
    {"rules", "script", DK_CONF_STRING, "", .check = DK_CHECK_SIEVE},
    {"rules", "max_steps", DK_CONF_INT, "1000000", 100, G64(1000000000)}, /* budget per message */
    {"desk", "close_after_days", DK_CONF_INT, "7", 0, 36500},
    /* The conversation with the customer (gateway/desk/conversation.h). */
    {"desk", "reply_status", DK_CONF_ENUM, "waiting", 0, 0, "waiting|none"},
    {"desk", "copy_participants", DK_CONF_BOOL, "true"},
    /* SLA targets FIRST/RESOLUTION per priority (or none) and the
     * business calendar they count in (gateway/desk/sla-policy.h). */
    {"sla", "critical", DK_CONF_STRING, "15m/4h", .check = DK_CHECK_SLA_TARGET},
    {"sla", "high", DK_CONF_STRING, "1h/8h", .check = DK_CHECK_SLA_TARGET},
    {"sla", "medium", DK_CONF_STRING, "4h/24h", .check = DK_CHECK_SLA_TARGET},
    {"sla", "low", DK_CONF_STRING, "24h/72h", .check = DK_CHECK_SLA_TARGET},
    {"sla", "none", DK_CONF_STRING, "none", .check = DK_CHECK_SLA_TARGET},
    {"sla", "business_hours", DK_CONF_LIST, "",
     .check = DK_CHECK_HOURS}, /* e.g. mon-fri 09:00-17:00; empty: around the clock */
    {"sla", "timezone", DK_CONF_STRING, "",
     .check = DK_CHECK_TIMEZONE},                                   /* an IANA name; empty: UTC */
    {"sla", "holidays", DK_CONF_LIST, "", .check = DK_CHECK_DATES}, /* local dates YYYY-MM-DD */
    {"sla", "holidays_file", DK_CONF_STRING, "",
     .check = DK_CHECK_DATES_FILE},                        /* one date a line */
    {"sla", "check_seconds", DK_CONF_INT, "60", 1, 86400}, /* serve's breach check */
    /* [queue:NAME]: the SLA of one queue; an empty key takes [sla]'s value. */
    {"queue:*", "critical", DK_CONF_STRING, "", .check = DK_CHECK_SLA_TARGET},
    {"queue:*", "high", DK_CONF_STRING, "", .check = DK_CHECK_SLA_TARGET},
    {"queue:*", "medium", DK_CONF_STRING, "", .check = DK_CHECK_SLA_TARGET},
    {"queue:*", "low", DK_CONF_STRING, "", .check = DK_CHECK_SLA_TARGET},
    {"queue:*", "none", DK_CONF_STRING, "", .check = DK_CHECK_SLA_TARGET},
    {"queue:*", "business_hours", DK_CONF_LIST, "", .check = DK_CHECK_HOURS},
    {"queue:*", "timezone", DK_CONF_STRING, "", .check = DK_CHECK_TIMEZONE},
    {"queue:*", "holidays", DK_CONF_LIST, "", .check = DK_CHECK_DATES},
    {"queue:*", "holidays_file", DK_CONF_STRING, "", .check = DK_CHECK_DATES_FILE},
    {"queue:*", "copy_participants", DK_CONF_ENUM, "desk", 0, 0, "desk|true|false"},
    {"queue:*", "keep_raw_days", DK_CONF_INT, "-1", -1, 36500}, /* -1: [store]'s */
    {"smtp", "url", DK_CONF_STRING, "",
     .check = DK_CHECK_SMTP_URL}, /* smtp://host:587 or smtps://host:465 */
    {"smtp", "user", DK_CONF_STRING, ""},
    {"smtp", "password", DK_CONF_STRING, "", .secret = TRUE},
    {"smtp", "password_file", DK_CONF_STRING, "", .check = DK_CHECK_SECRET_FILE},
    {"smtp", "starttls", DK_CONF_ENUM, "required", 0, 0,
     "required|insecure-optional|insecure-none"},
    {"smtp", "insecure_skip_verify", DK_CONF_BOOL, "false"},
    {"smtp", "timeout_seconds", DK_CONF_INT, "60", 1, 3600},
    /* how long a gateway's claim on a row lasts; 0: 5 x timeout_seconds + 60 */
    {"smtp", "claim_seconds", DK_CONF_INT, "0", 0, 86400},
    {"notify", "transport", DK_CONF_ENUM, "auto", 0, 0,
     "auto|maildir|smtp|sendmail"}, /* auto: smtp when [smtp] url is set, else maildir */
    {"notify", "from", DK_CONF_STRING, "",
     .check = DK_CHECK_ADDRESS}, /* empty: docket@<threading domain> */
    {"notify", "from_name", DK_CONF_STRING, "Support"},
    {"notify", "bounce_address", DK_CONF_STRING, "",
     .check = DK_CHECK_ADDRESS}, /* VERP base; empty: bounces@<from's domain> */
    {"notify", "organisation", DK_CONF_STRING, ""},
    {"notify", "ack", DK_CONF_BOOL, "true"},
    {"notify", "rate_per_hour", DK_CONF_INT, "3", 0, 100000},
    {"notify", "bounce_expiry_days", DK_CONF_INT, "30", 1, 36500}, /* a bouncing mark lasts */
    {"notify", "templates_dir", DK_CONF_STRING, "", .check = DK_CHECK_DIR},
    {"notify", "team_addresses", DK_CONF_LIST, "", .check = DK_CHECK_ADDRESSES},
    {"notify", "customer_reply", DK_CONF_ENUM, "assignee", 0, 0, "assignee|none"},
    /* a reply's From name, Mustache over agent.name, agent.address, from_name */
    {"notify", "reply_from_name", DK_CONF_STRING,
     "{{#agent.name}}{{agent.name}} via {{/agent.name}}{{from_name}}"},
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
    {"imap:*", "host", DK_CONF_STRING, "", .check = DK_CHECK_HOST},
    {"imap:*", "port", DK_CONF_INT, "0", 0, 65535}, /* 0: 993 for imaps, else 143 */
    {"imap:*", "tls", DK_CONF_ENUM, "imaps", 0, 0, "imaps|starttls|insecure-plain"},
    {"imap:*", "ca_file", DK_CONF_STRING, "", .check = DK_CHECK_FILE},
    {"imap:*", "user", DK_CONF_STRING, ""},
    {"imap:*", "password", DK_CONF_STRING, "", .secret = TRUE},
    {"imap:*", "password_file", DK_CONF_STRING, "", .check = DK_CHECK_SECRET_FILE},
    {"imap:*", "auth", DK_CONF_ENUM, "login", 0, 0, "login|plain|xoauth2"},
    /* refresh_token: a user's delegated access, the refresh token kept
     * (and replaced when the provider rotates it) in data_dir/oauth;
     * client_credentials: an application's own access (Microsoft 365
     * app-only), with oauth_client_secret and oauth_scope. */
    {"imap:*", "oauth_grant", DK_CONF_ENUM, "refresh_token", 0, 0,
     "refresh_token|client_credentials"},
    {"imap:*", "oauth_token_url", DK_CONF_STRING, "", .check = DK_CHECK_HTTP_URL},
    {"imap:*", "oauth_device_url", DK_CONF_STRING, "", .check = DK_CHECK_HTTP_URL}, /* RFC 8628 */
    {"imap:*", "oauth_scope", DK_CONF_STRING, ""},
    {"imap:*", "oauth_client_id", DK_CONF_STRING, ""},
    {"imap:*", "oauth_client_secret", DK_CONF_STRING, "", .secret = TRUE},
    {"imap:*", "oauth_client_secret_file", DK_CONF_STRING, "", .check = DK_CHECK_SECRET_FILE},
    {"imap:*", "oauth_refresh_token", DK_CONF_STRING, "", .secret = TRUE},
    {"imap:*", "oauth_refresh_token_file", DK_CONF_STRING, "", .check = DK_CHECK_SECRET_FILE},
    {"imap:*", "folders", DK_CONF_LIST, "INBOX", .check = DK_CHECK_FOLDERS},
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
    {"connector:*", "base_url", DK_CONF_STRING, "", .check = DK_CHECK_HTTP_URL},
    /* name = value lines, private to docket's user */
    {"connector:*", "credentials_file", DK_CONF_STRING, "", .check = DK_CHECK_SECRET_FILE},
    {"connector:*", "queues", DK_CONF_LIST, "*"},
    {"connector:*", "timeout_seconds", DK_CONF_INT, "30", 1, 600},
    {"connector:*", "max_parallel", DK_CONF_INT, "4", 1, 64}, /* requests at once */
    /* a row being sent; 0: 4 x timeout_seconds + 60 */
    {"connector:*", "claim_seconds", DK_CONF_INT, "0", 0, 86400},
    {"connector:*", "poll_seconds", DK_CONF_INT, "0", 0, 86400}, /* the way back: 0 off */
    {"connector:*", "attachment_max_bytes", DK_CONF_INT, "0", 0, 1073741824}, /* 0: the system's */
    {"connector:*", "ca_file", DK_CONF_STRING, "", .check = DK_CHECK_FILE},
    {"connector:*", "insecure_http", DK_CONF_BOOL, "false"}, /* http:// beyond loopback */
    {"connector:*", "reference_prefix", DK_CONF_STRING, "docket", .check = DK_CHECK_WORD},
    {"connector:*", "board", DK_CONF_STRING, ""},
    {"connector:*", "company", DK_CONF_STRING, ""},
    {"connector:*", "status_map", DK_CONF_LIST, "",
     .check = DK_CHECK_STATUS_MAP}, /* ours=theirs, over the defaults */
    {"connector:*", "priority_map", DK_CONF_LIST, "",
     .check = DK_CHECK_PRIORITY_MAP}, /* ours=theirs, over the defaults */
    /* Incident IQ (connectors/incidentiq.c): GUIDs for a new ticket. */
    {"connector:*", "location_id", DK_CONF_STRING, ""},
    {"connector:*", "issue_type_id", DK_CONF_STRING, ""},
    {"connector:*", "issue_category_id", DK_CONF_STRING, ""},
    {"connector:*", "issue_id", DK_CONF_STRING, ""},
    {"connector:*", "default_requester_id", DK_CONF_STRING, ""},
    {"connector:*", "ticket_form", DK_CONF_STRING, ""}, /* NinjaOne ticketFormId */
    /* domain=id, *=default: NinjaOne clientId, OpsPilot customerId, Omnidesk brandID */
    {"connector:*", "organisation_map", DK_CONF_LIST, ""},
    {"connector:*", "brand", DK_CONF_STRING, ""},             /* Omnidesk default brandID */
    {"connector:*", "channel", DK_CONF_INT, "1", 1, 1000000}, /* Omnidesk: mail's channelID */
    {"connector:*", "note_type", DK_CONF_STRING, "calllog"}, /* Omnidesk: type of support's messages */
    {"connector:*", "api_key_in", DK_CONF_ENUM, "query", 0, 0, "query|header"}, /* Omnidesk */
};
/* clang-format on */
const gsize dk_conf_schema_len = G_N_ELEMENTS(dk_conf_schema);

/* "imap:support" matches "imap:*"; "imap:" and "imap" do not. */
gboolean dk_conf_section_matches(const char *pattern, const char *section)
{
	const char *star = strstr(pattern, ":*");
	if (star == NULL)
		return strcmp(pattern, section) == 0;
	gsize plen = (gsize)(star - pattern) + 1;
	return strncmp(section, pattern, plen) == 0 && section[plen] != '\0';
}

/* "section\nkey" -> entry, with "kind:*" for the sections of one kind;
 * "section" -> its first entry. Made once: every getter looks here. */
static GHashTable *schema_index(void)
{
	static GHashTable *index;
	static gsize made;
	if (g_once_init_enter(&made)) {
		index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		for (gsize i = dk_conf_schema_len; i-- > 0;) {
			const DkConfKey *k = &dk_conf_schema[i];
			g_hash_table_insert(index, g_strconcat(k->section, "\n", k->key, NULL),
			                    (gpointer)k);
			g_hash_table_insert(index, g_strdup(k->section), (gpointer)k);
		}
		g_once_init_leave(&made, 1);
	}
	return index;
}

const DkConfKey *dk_conf_schema_find(const char *section, const char *key)
{
	/* The sections of one kind ("imap:support") are found as "imap:*". */
	const char *colon = strchr(section, ':');
	if (colon != NULL && colon[1] == '\0')
		return NULL;
	g_autofree char *kind = colon ? g_strndup(section, (gsize)(colon - section)) : NULL;
	g_autofree char *id = g_strconcat(kind ? kind : section, kind ? ":*" : "", key ? "\n" : "",
	                                  key ? key : "", NULL);
	return g_hash_table_lookup(schema_index(), id);
}

/* Edit distance with transpositions (optimal string alignment), ASCII
 * case ignored; names of keys are short. */
static guint distance(const char *a, const char *b)
{
	gsize la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return G_MAXUINT;
	guint d[65][65];
	for (gsize i = 0; i <= la; i++)
		d[i][0] = (guint)i;
	for (gsize j = 0; j <= lb; j++)
		d[0][j] = (guint)j;
	for (gsize i = 1; i <= la; i++) {
		for (gsize j = 1; j <= lb; j++) {
			char x = g_ascii_tolower(a[i - 1]), y = g_ascii_tolower(b[j - 1]);
			guint best =
			    MIN(MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + (x != y));
			if (i > 1 && j > 1 && x == g_ascii_tolower(b[j - 2]) &&
			    g_ascii_tolower(a[i - 2]) == y)
				best = MIN(best, d[i - 2][j - 2] + 1);
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* Close enough to be a typo: a third of the name, at least 1, at most 3. */
static gboolean near(const char *typed, const char *known, guint *best)
{
	guint limit = CLAMP((guint)strlen(known) / 3, 1, 3);
	guint d = distance(typed, known);
	if (d > limit || d >= *best)
		return FALSE;
	*best = d;
	return TRUE;
}

char *dk_conf_schema_suggest_key(const char *section, const char *key)
{
	const char *nearest = NULL;
	guint best = G_MAXUINT;
	for (gsize i = 0; i < dk_conf_schema_len; i++) {
		const DkConfKey *k = &dk_conf_schema[i];
		if (dk_conf_section_matches(k->section, section) && near(key, k->key, &best))
			nearest = k->key;
	}
	if (nearest != NULL)
		return g_strdup_printf("did you mean “%s”?", nearest);
	for (gsize i = 0; i < dk_conf_schema_len; i++) {
		const DkConfKey *k = &dk_conf_schema[i];
		if (strcmp(k->key, key) == 0) {
			/* an instance section's "*" is the NAME the administrator gives */
			const char *star = strstr(k->section, ":*");
			int kind = star ? (int)(star - k->section) : (int)strlen(k->section);
			return g_strdup_printf("“%s” belongs in [%.*s%s]", key, kind, k->section,
			                       star ? ":NAME" : "");
		}
	}
	return NULL;
}

char *dk_conf_schema_suggest_section(const char *section)
{
	const char *colon = strchr(section, ':');
	g_autofree char *kind =
	    g_strndup(section, colon ? (gsize)(colon - section) : strlen(section));
	const char *nearest = NULL;
	guint best = G_MAXUINT;
	gboolean instance = FALSE;
	for (gsize i = 0; i < dk_conf_schema_len; i++) {
		const DkConfKey *k = &dk_conf_schema[i];
		const char *star = strstr(k->section, ":*");
		g_autofree char *known =
		    g_strndup(k->section, star ? (gsize)(star - k->section) : strlen(k->section));
		if (strcmp(kind, known) == 0 && star != NULL)
			return g_strdup_printf("a [%s:NAME] section needs its NAME", known);
		if (near(kind, known, &best)) {
			nearest = k->section;
			instance = star != NULL;
		}
	}
	if (nearest == NULL)
		return NULL;
	g_autofree char *name = g_strndup(nearest, strcspn(nearest, ":"));
	if (instance)
		return g_strdup_printf("did you mean [%s:%s]?", name, colon ? colon + 1 : "NAME");
	return g_strdup_printf("did you mean [%s]?", name);
}
