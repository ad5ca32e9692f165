/* Never loop, never spam: who gets an automatic message, and the outbox row
 * of the acknowledgement written in the pipeline's transaction. */
#include "gateway/outbox/notify.h"

#include "gateway/json.h"
#include "gateway/store/store-outbox.h"
#include "parsers/classify.h"

#include <string.h>

static gboolean same_address(const char *a, const char *b)
{
	return a != NULL && b != NULL && g_ascii_strcasecmp(a, b) == 0;
}

/* A VERP-style address of base (local+anything@domain) or base itself. */
static gboolean matches_base(const char *address, const char *base)
{
	const char *at = strrchr(base, '@'), *aat = strrchr(address, '@');
	if (at == NULL || aat == NULL || g_ascii_strcasecmp(at, aat) != 0)
		return FALSE;
	gsize local = (gsize)(at - base);
	return g_ascii_strncasecmp(address, base, local) == 0 &&
	       (address[local] == '@' || address[local] == '+');
}

/* Addresses that never get an automatic message: RFC 3834 section 2 asks
 * not to respond to mailer daemons and lists; no-reply senders cannot read. */
static gboolean system_address(const char *address)
{
	static const char *const locals[] = {"mailer-daemon", "postmaster", "noreply",  "no-reply",
	                                     "do-not-reply",  "donotreply", "listserv", "majordomo",
	                                     "bounces",       "nobody"};
	const char *at = strrchr(address, '@');
	g_autofree char *local = g_ascii_strdown(address, at ? at - address : -1);
	for (gsize i = 0; i < G_N_ELEMENTS(locals); i++)
		if (strcmp(local, locals[i]) == 0)
			return TRUE;
	return g_str_has_prefix(local, "owner-") || g_str_has_suffix(local, "-request") ||
	       g_str_has_suffix(local, "-owner") || g_str_has_prefix(local, "bounces+");
}

static gboolean own_address(const DkConfig *config, const char *const *own_recipients,
                            const char *address)
{
	const char *bases[] = {dk_config_get_string(config, "notify", "from"),
	                       dk_config_get_string(config, "notify", "bounce_address")};
	for (gsize i = 0; i < G_N_ELEMENTS(bases); i++)
		if (*bases[i] && matches_base(address, bases[i]))
			return TRUE;
	g_auto(GStrv) lmtp = dk_config_get_list(config, "lmtp", "recipients");
	for (guint i = 0; lmtp[i] != NULL; i++)
		if (matches_base(address, lmtp[i]))
			return TRUE;
	for (guint i = 0; own_recipients != NULL && own_recipients[i] != NULL; i++)
		if (same_address(address, own_recipients[i]))
			return TRUE;
	return FALSE;
}

static gboolean header_in(const DkMessage *m, const char *name, const char *const *values)
{
	const char *v = dk_message_header(m, name);
	if (v == NULL)
		return FALSE;
	g_autofree char *low = g_ascii_strdown(v, -1);
	g_strstrip(low);
	return values == NULL || g_strv_contains(values, low);
}

/* RFC 3834 section 2, checked on the headers themselves so that the guard
 * holds whatever the classifier decided: automatic mail, list mail, mail
 * that went through docket already. */
static const char *header_refusal(const DkMessage *m, const char *from)
{
	static const char *const precedence[] = {"bulk", "list", "junk", "auto_reply", NULL};
	static const char *const no[] = {"no", NULL};
	if (dk_message_header(m, "auto-submitted") != NULL && !header_in(m, "auto-submitted", no))
		return "auto-reply";
	if (header_in(m, "x-autoreply", NULL) || header_in(m, "x-autorespond", NULL) ||
	    dk_classify_auto_reply_subject(m->subject))
		return "auto-reply";
	if (header_in(m, "precedence", precedence) || header_in(m, "list-id", NULL) ||
	    header_in(m, "list-unsubscribe", NULL))
		return "bulk";
	const GPtrArray *loops = dk_message_header_all(m, "x-loop");
	for (guint i = 0; loops != NULL && i < loops->len; i++) {
		g_autofree char *v = g_ascii_strdown(g_ptr_array_index(loops, i), -1);
		if (strstr(v, "docket") != NULL || (*from && strstr(v, from) != NULL))
			return "loop";
	}
	return NULL;
}

static const char *message_refusal(const DkMessage *m, const DkConfig *config)
{
	g_autofree char *from = g_ascii_strdown(dk_config_get_string(config, "notify", "from"), -1);
	const char *reason = header_refusal(m, from);
	if (reason != NULL)
		return reason;
	const DkClassification *c = &m->classification;
	if (c->bounce != NULL)
		return "bounce";
	if (c->auto_reply)
		return "auto-reply";
	if (c->auto_generated)
		return "automatic";
	if (c->loop)
		return "loop";
	if (c->bulk)
		return "bulk";
	if (c->spam)
		return "spam";
	return NULL;
}

/* Why no automatic message goes to address, by the address alone. */
static const char *address_refusal(const DkConfig *config, const char *const *own_recipients,
                                   const char *address)
{
	if (!dk_notify_address_ok(address))
		return "unusable address";
	if (system_address(address))
		return "system address";
	if (own_address(config, own_recipients, address))
		return "own address";
	return NULL;
}

/* Why no automatic message goes to address, by what the store knows of
 * it: bouncing, or over the hourly limit. */
static gboolean store_allows(DkStore *store, const DkConfig *config, const char *address,
                             gint64 now, const char **reason_out, GError **error)
{
	*reason_out = NULL;
	gboolean bouncing = FALSE;
	gint64 recent = 0;
	gint64 expiry = dk_config_get_int(config, "notify", "bounce_expiry_days") * 86400;
	if (!dk_store_outbox_standing(store, address, now - expiry, now - 3600, &bouncing, &recent,
	                              error))
		return FALSE;
	if (bouncing)
		*reason_out = "bouncing";
	else if (recent >= dk_config_get_int(config, "notify", "rate_per_hour"))
		*reason_out = "rate limit";
	return *reason_out == NULL;
}

gboolean dk_notify_may_send(DkStore *store, const DkConfig *config, const DkMessage *m,
                            const char *const *own_recipients, const char *address, gint64 now,
                            const char **reason_out, GError **error)
{
	*reason_out = m != NULL ? message_refusal(m, config) : NULL;
	if (*reason_out == NULL)
		*reason_out = address_refusal(config, own_recipients, address);
	return *reason_out == NULL && store_allows(store, config, address, now, reason_out, error);
}

/* Why the sender gets no acknowledgement, before the store is asked. */
static const char *ack_refusal(const DkConfig *config, const DkMessage *m,
                               const char *message_refused, const char *const *own_recipients)
{
	if (message_refused != NULL || m->from == NULL)
		return message_refused;
	return address_refusal(config, own_recipients, m->from->address);
}

DkNotifyPrepared *dk_notify_prepare(const DkConfig *config, const DkMessage *m,
                                    const char *const *own_recipients)
{
	DkNotifyPrepared *p = g_new0(DkNotifyPrepared, 1);
	p->message_refusal = message_refusal(m, config);
	p->ack_refusal = ack_refusal(config, m, p->message_refusal, own_recipients);
	return p;
}

/* What prepare worked out for e's message, or, for effects made without
 * it, the same worked out now. */
static DkNotifyPrepared prepared_of(const DkEffects *e, const DkConfig *config)
{
	if (e->prepared != NULL)
		return *(const DkNotifyPrepared *)e->prepared;
	DkNotifyPrepared p = {.message_refusal = message_refusal(e->message, config)};
	p.ack_refusal = ack_refusal(config, e->message, p.message_refusal, e->recipients);
	return p;
}

static char *ack_payload(const DkEffects *e)
{
	const DkMessage *m = e->message;
	g_autoptr(json_t) refs = json_array();
	for (guint i = 0; m->references != NULL && i < m->references->len; i++)
		json_array_append_new(refs, json_string(g_ptr_array_index(m->references, i)));
	g_autoptr(json_t) o = json_object();
	json_object_set_new(o, "template", json_string(e->ack_template ? e->ack_template : "ack"));
	json_object_set_new(o, "to", json_string(m->from->address));
	if (m->from->name != NULL)
		json_object_set_new(o, "to_name", json_string(m->from->name));
	json_object_set_new(o, "article", json_integer(e->article));
	if (!m->message_id_synthetic)
		json_object_set_new(o, "in_reply_to", json_string(m->message_id));
	json_object_set(o, "references", refs);
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Imported mail is history: answering it now would surprise everyone. */
static gboolean history(const DkEffects *e)
{
	return g_strcmp0(e->intake, "import") == 0 || g_strcmp0(e->intake, "history") == 0;
}

static gboolean record_suppressed(DkStore *store, const DkEffects *e, const char *reason,
                                  GError **error)
{
	g_autoptr(json_t) o = json_pack("{ss ss?}", "reason", reason, "to",
	                                e->message->from ? e->message->from->address : NULL);
	g_autofree char *detail = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_event_add(store, e->ticket, e->article, "ack_suppressed", detail, e->at,
	                          error);
}

gboolean dk_notify_enqueue_ack(DkStore *store, const DkConfig *config, const DkEffects *e,
                               GError **error)
{
	const DkMessage *m = e->message;
	if (config == NULL || m == NULL || !dk_config_get_bool(config, "notify", "ack") ||
	    history(e))
		return TRUE;
	const char *reason = NULL;
	if (e->suppress_ack)
		reason = "rule";
	else if (m->from == NULL)
		reason = "no sender";
	else if (e->envelope_from != NULL && *e->envelope_from == '\0')
		reason = "null envelope sender"; /* RFC 5321 section 4.5.5: a bounce */
	else
		reason = prepared_of(e, config).ack_refusal;
	if (reason == NULL &&
	    !store_allows(store, config, m->from->address, e->at, &reason, error) && reason == NULL)
		return FALSE;
	if (reason != NULL)
		return record_suppressed(store, e, reason, error);
	g_autofree char *payload = ack_payload(e);
	return dk_store_outbox_add(store, dk_outbox_kind_name(DK_OUTBOX_ACK), m->from->address,
	                           e->ticket, payload, e->at, NULL, error);
}

/* The team hears of every new ticket except docket's own mail coming back;
 * team addresses are docket's people, so no hourly limit applies. */
gboolean dk_notify_enqueue_team(DkStore *store, const DkConfig *config, const DkEffects *e,
                                GError **error)
{
	const DkMessage *m = e->message;
	if (config == NULL || m == NULL || history(e))
		return TRUE;
	g_auto(GStrv) team = dk_config_get_list(config, "notify", "team_addresses");
	if (team[0] == NULL || m->classification.loop)
		return TRUE;
	if (g_strcmp0(prepared_of(e, config).message_refusal, "loop") == 0)
		return TRUE;
	for (guint i = 0; team[i] != NULL; i++) {
		if (!dk_notify_address_ok(team[i]) || own_address(config, e->recipients, team[i]) ||
		    (m->from != NULL && same_address(team[i], m->from->address)))
			continue;
		g_autoptr(json_t) o = json_pack("{ss ss sI}", "template", "team-new", "to", team[i],
		                                "article", (json_int_t)e->article);
		if (m->from != NULL && m->from->name != NULL)
			json_object_set_new(o, "requester_name", json_string(m->from->name));
		g_autofree char *payload = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		if (!dk_store_outbox_add(store, dk_outbox_kind_name(DK_OUTBOX_NOTICE), team[i],
		                         e->ticket, payload, e->at, NULL, error))
			return FALSE;
	}
	return TRUE;
}
