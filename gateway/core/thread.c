/* Threading: evidence against the store, the follow-up participants, and
 * the agents. */
#include "gateway/core/thread.h"

#include "gateway/desk/desk.h"
#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "parsers/authres.h"

#include <gmime/gmime.h>
#include "parsers/subject.h"

#include <string.h>

#define FOREIGN_SCAN_MAX (64 * 1024) /* bytes of new text searched for foreign numbers */

static void foreign_free(DkForeignPattern *f)
{
	g_free(f->name);
	g_regex_unref(f->regex);
	g_free(f);
}

static char *nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? g_strdup(s) : NULL;
}

static void load_foreign(DkThreadPolicy *p, const DkConfig *config)
{
	p->foreign = g_ptr_array_new_with_free_func((GDestroyNotify)foreign_free);
	g_auto(GStrv) names = dk_config_get_instances(config, "foreign");
	for (int i = 0; names[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("foreign:", names[i], NULL);
		const char *pattern = dk_config_get_string(config, section, "pattern");
		g_autoptr(GError) error = NULL;
		GRegex *re = g_regex_new(pattern, G_REGEX_OPTIMIZE, 0, &error);
		if (re == NULL || g_regex_get_capture_count(re) < 1) {
			g_warning("[%s] pattern: %s", section,
			          re ? "needs a capture group for the number" : error->message);
			if (re != NULL)
				g_regex_unref(re);
			continue;
		}
		DkForeignPattern *f = g_new0(DkForeignPattern, 1);
		f->name = g_strdup(names[i]);
		f->regex = re;
		g_ptr_array_add(p->foreign, f);
	}
}

DkThreadPolicy *dk_thread_policy_new(const DkConfig *config)
{
	DkThreadPolicy *p = g_new0(DkThreadPolicy, 1);
	g_mutex_init(&p->lock);
	p->token_prefix = g_strdup(dk_config_get_string(config, "threading", "token_prefix"));
	const char *follow_up = dk_config_get_string(config, "threading", "follow_up");
	p->follow_up = strcmp(follow_up, "accept") == 0   ? DK_FOLLOW_UP_ACCEPT
	               : strcmp(follow_up, "reject") == 0 ? DK_FOLLOW_UP_REJECT
	                                                  : DK_FOLLOW_UP_NEW_TICKET;
	p->reopen_seconds = dk_config_get_int(config, "threading", "reopen_days") * 86400;
	p->reply_addresses = dk_config_get_bool(config, "threading", "reply_addresses");
	p->reply_address = nonempty(dk_config_get_string(config, "threading", "reply_address"));
	p->organisation_domain_participants =
	    dk_config_get_bool(config, "threading", "organisation_domain_participants");
	p->staff = dk_staff_new(config);
	p->authserv_id = nonempty(dk_config_get_string(config, "agents", "authserv_id"));
	p->relaxed_alignment =
	    strcmp(dk_config_get_string(config, "agents", "alignment"), "relaxed") == 0;
	p->insecure_trust_from = dk_config_get_bool(config, "agents", "insecure_trust_from");
	load_foreign(p, config);
	const char *secret = dk_config_get_string(config, "threading", "secret");
	p->secret_configured = *secret != '\0';
	if (p->secret_configured)
		p->secret = g_bytes_new(secret, strlen(secret));
	else
		p->secret_path = g_build_filename(dk_config_get_string(config, "store", "data_dir"),
		                                  "secret", NULL);
	return p;
}

void dk_thread_policy_free(DkThreadPolicy *p)
{
	if (p == NULL)
		return;
	g_free(p->token_prefix);
	g_free(p->reply_address);
	dk_staff_free(p->staff);
	g_free(p->authserv_id);
	g_ptr_array_unref(p->foreign);
	g_clear_pointer(&p->secret, g_bytes_unref);
	g_free(p->secret_path);
	g_mutex_clear(&p->lock);
	g_free(p);
}

GBytes *dk_thread_policy_secret(DkThreadPolicy *p)
{
	g_mutex_lock(&p->lock);
	if (p->secret == NULL && p->secret_path != NULL &&
	    g_file_test(p->secret_path, G_FILE_TEST_IS_REGULAR)) {
		g_autofree char *contents = NULL;
		gsize length = 0;
		if (g_file_get_contents(p->secret_path, &contents, &length, NULL) && length >= 16)
			p->secret = g_bytes_new_take(g_steal_pointer(&contents), length);
	}
	GBytes *out = p->secret ? g_bytes_ref(p->secret) : NULL;
	g_mutex_unlock(&p->lock);
	return out;
}

static gboolean ticket_exists(DkStore *store, gint64 number, gboolean *exists_out, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, number, &local);
	*exists_out = t != NULL;
	if (t == NULL && !g_error_matches(local, DK_ERROR, DK_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	return TRUE;
}

gboolean dk_thread_find_message_id(DkStore *store, DkThreadPolicy *policy, const char *id,
                                   gint64 *ticket_out, gboolean *found_out, GError **error)
{
	*found_out = FALSE;
	if (id == NULL || *id == '\0')
		return TRUE;
	if (!dk_store_message_id_find(store, id, ticket_out, found_out, error))
		return FALSE;
	if (*found_out || !g_str_has_prefix(id, "docket."))
		return TRUE;
	g_autoptr(GBytes) secret = dk_thread_policy_secret(policy);
	gint64 ticket = 0;
	if (secret == NULL || !dk_ids_message_id_ticket(secret, id, &ticket))
		return TRUE;
	if (!ticket_exists(store, ticket, found_out, error))
		return FALSE;
	if (*found_out)
		*ticket_out = ticket;
	return TRUE;
}

static gboolean by_header(DkStore *store, DkThreadPolicy *policy, const DkMessage *m,
                          DkThreadMatch *match, GError **error)
{
	gboolean found = FALSE;
	if (!dk_thread_find_message_id(store, policy, m->in_reply_to, &match->ticket, &found,
	                               error))
		return FALSE;
	/* The newest reference is the likeliest to be ours; older ones still
	 * count, since a client may trim or reorder the list. */
	for (guint i = m->references->len; !found && i > 0; i--) {
		const char *id = g_ptr_array_index(m->references, i - 1);
		if (!dk_thread_find_message_id(store, policy, id, &match->ticket, &found, error))
			return FALSE;
	}
	if (found)
		match->evidence = "header";
	return TRUE;
}

/* A candidate address: a valid reply address sets the match; one of ours
 * with a bad MAC sets forged. */
static void check_reply_address(DkThreadPolicy *policy, GBytes *secret, const char *address,
                                DkThreadMatch *match)
{
	gint64 ticket = 0;
	if (address == NULL || match->ticket != 0)
		return;
	if (dk_ids_reply_address_ticket(secret, policy->reply_address, address, &ticket)) {
		match->ticket = ticket;
		match->evidence = "reply-address";
		return;
	}
	const char *at = strrchr(policy->reply_address, '@');
	gsize local = (gsize)(at - policy->reply_address);
	if (g_ascii_strncasecmp(address, policy->reply_address, local) == 0 &&
	    address[local] == '+')
		match->forged = TRUE;
}

static gboolean by_reply_address(DkStore *store, DkThreadPolicy *policy, const DkMessage *m,
                                 char **recipients, DkThreadMatch *match, GError **error)
{
	if (!policy->reply_addresses || policy->reply_address == NULL ||
	    strchr(policy->reply_address, '@') == NULL)
		return TRUE;
	g_autoptr(GBytes) secret = dk_thread_policy_secret(policy);
	if (secret == NULL)
		return TRUE;
	for (guint i = 0; recipients != NULL && recipients[i] != NULL; i++)
		check_reply_address(policy, secret, recipients[i], match);
	const GPtrArray *lists[] = {m->to, m->cc};
	for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (guint i = 0; i < lists[l]->len; i++)
			check_reply_address(policy, secret,
			                    ((DkAddress *)g_ptr_array_index(lists[l], i))->address,
			                    match);
	}
	gboolean exists = TRUE;
	if (match->ticket != 0 && !ticket_exists(store, match->ticket, &exists, error))
		return FALSE;
	if (!exists) {
		match->ticket = 0;
		match->evidence = "new";
	}
	return TRUE;
}

static gboolean by_token(DkStore *store, const DkThreadPolicy *policy, const DkMessage *m,
                         DkThreadMatch *match, GError **error)
{
	gint64 ticket = 0;
	gboolean exists = FALSE;
	if (!dk_subject_find_token(m->subject, policy->token_prefix, &ticket))
		return TRUE;
	if (!ticket_exists(store, ticket, &exists, error))
		return FALSE;
	if (exists) {
		match->ticket = ticket;
		match->evidence = "token";
	}
	return TRUE;
}

static gboolean by_foreign(DkStore *store, const DkThreadPolicy *policy, const DkMessage *m,
                           DkThreadMatch *match, GError **error)
{
	g_autoptr(GPtrArray) pairs = dk_thread_foreign_numbers(policy, m);
	for (guint i = 0; i + 1 < pairs->len && match->ticket == 0; i += 2) {
		gboolean found = FALSE;
		if (!dk_store_foreign_ref_find(store, g_ptr_array_index(pairs, i),
		                               g_ptr_array_index(pairs, i + 1), &match->ticket,
		                               &found, error))
			return FALSE;
		if (found)
			match->evidence = "foreign";
	}
	return TRUE;
}

gboolean dk_thread_find_unmerged(DkStore *store, DkThreadPolicy *policy, const DkMessage *m,
                                 char **recipients, DkThreadMatch *match_out, GError **error)
{
	*match_out = (DkThreadMatch){.ticket = 0, .evidence = "new"};
	if (!by_header(store, policy, m, match_out, error))
		return FALSE;
	if (match_out->ticket == 0 &&
	    !by_reply_address(store, policy, m, recipients, match_out, error))
		return FALSE;
	if (match_out->ticket == 0 && !by_token(store, policy, m, match_out, error))
		return FALSE;
	return match_out->ticket != 0 || by_foreign(store, policy, m, match_out, error);
}

gboolean dk_thread_find(DkStore *store, DkThreadPolicy *policy, const DkMessage *m,
                        char **recipients, DkThreadMatch *match_out, GError **error)
{
	/* A merged ticket's mail goes to the ticket it was merged into. */
	return dk_thread_find_unmerged(store, policy, m, recipients, match_out, error) &&
	       (match_out->ticket == 0 ||
	        dk_desk_resolve_merged(store, match_out->ticket, &match_out->ticket, error));
}

static const char *domain_of(const char *address)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	return at ? at + 1 : NULL;
}

gboolean dk_thread_is_support_address(const DkThreadPolicy *policy, const char *address)
{
	return dk_staff_is_support_address(policy->staff, address);
}

gboolean dk_thread_is_agent(const DkThreadPolicy *policy, const char *address)
{
	return dk_staff_is_agent(policy->staff, address);
}

gboolean dk_thread_is_participant(DkStore *store, const DkThreadPolicy *policy,
                                  const DkTicket *ticket, const char *address,
                                  gboolean *participant_out, GError **error)
{
	*participant_out = FALSE;
	if (address == NULL)
		return TRUE;
	DkParticipantRole role;
	gboolean listed = FALSE;
	if (!dk_store_participant_role(store, ticket->number, address, &role, &listed, error))
		return FALSE;
	const char *mine = domain_of(address), *theirs = domain_of(ticket->requester);
	*participant_out =
	    listed || (ticket->requester && g_ascii_strcasecmp(ticket->requester, address) == 0) ||
	    (policy->organisation_domain_participants && mine && theirs &&
	     g_ascii_strcasecmp(mine, theirs) == 0);
	return TRUE;
}

/* How many mailboxes the message's header fields called name hold, all of
 * them together (RFC 5322 section 3.6.2: From may list several). */
static guint mailboxes(const DkMessage *m, const char *name)
{
	const GPtrArray *all = dk_message_header_all(m, name);
	guint n = 0;
	for (guint i = 0; all != NULL && i < all->len; i++) {
		InternetAddressList *list =
		    internet_address_list_parse(NULL, g_ptr_array_index(all, i));
		guint k = list ? (guint)internet_address_list_length(list) : 0;
		n += k > 0 ? k : 1; /* an unreadable field still counts */
		if (list != NULL)
			g_object_unref(list);
	}
	return n;
}

DkAgentTrust dk_thread_agent_trust(const DkThreadPolicy *policy, const DkMessage *m,
                                   const char **why_out)
{
	*why_out = NULL;
	if (m->from == NULL || !dk_thread_is_agent(policy, m->from->address))
		return DK_AGENT_NONE;
	if (policy->insecure_trust_from)
		return DK_AGENT_VERIFIED;
	if (mailboxes(m, "from") != 1 || mailboxes(m, "sender") > 1) {
		*why_out =
		    "more than one From or Sender: which one the checks vouch for is unclear";
		return DK_AGENT_UNVERIFIED;
	}
	/* A good signature by the agent's own trusted key (gateway/core/crypto.c). */
	if (dk_message_signed_by(m, m->from->address))
		return DK_AGENT_VERIFIED;
	if (policy->authserv_id == NULL) {
		*why_out =
		    "no way to verify agents is configured ([agents] authserv_id, or a signature "
		    "by the agent's trusted key)";
		return DK_AGENT_UNVERIFIED;
	}
	DkAuthresVerdict verdict = dk_authres_verify(
	    dk_message_header_all(m, "authentication-results"), policy->authserv_id,
	    domain_of(m->from->address), policy->relaxed_alignment, NULL);
	if (verdict == DK_AUTHRES_PASS)
		return DK_AGENT_VERIFIED;
	*why_out = dk_authres_verdict_reason(verdict);
	return DK_AGENT_UNVERIFIED;
}

static void scan_foreign(const DkForeignPattern *f, const char *text, gsize len, GPtrArray *out)
{
	g_autoptr(GMatchInfo) info = NULL;
	if (text == NULL || !g_regex_match_full(f->regex, text, (gssize)len, 0, 0, &info, NULL))
		return;
	for (int n = 0; n < 32 && g_match_info_matches(info); n++) {
		g_autofree char *number = g_match_info_fetch(info, 1);
		gboolean seen = number == NULL || *number == '\0';
		for (guint i = 0; !seen && i + 1 < out->len; i += 2)
			seen = strcmp(g_ptr_array_index(out, i), f->name) == 0 &&
			       strcmp(g_ptr_array_index(out, i + 1), number) == 0;
		if (!seen) {
			g_ptr_array_add(out, g_strdup(f->name));
			g_ptr_array_add(out, g_steal_pointer(&number));
		}
		if (!g_match_info_next(info, NULL))
			break;
	}
}

GPtrArray *dk_thread_foreign_numbers(const DkThreadPolicy *policy, const DkMessage *m)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < policy->foreign->len; i++) {
		const DkForeignPattern *f = g_ptr_array_index(policy->foreign, i);
		scan_foreign(f, m->subject, strlen(m->subject ? m->subject : ""), out);
		gsize len = m->new_text ? strlen(m->new_text) : 0;
		if (len > FOREIGN_SCAN_MAX)
			len = g_utf8_find_prev_char(m->new_text, m->new_text + FOREIGN_SCAN_MAX) -
			      m->new_text;
		scan_foreign(f, m->new_text, len, out);
	}
	return out;
}
