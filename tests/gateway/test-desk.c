/* Tests of the ticket desk: the transition table, durations, the agent's
 * changes and their events, auto-closing, notes, replies queued as relays,
 * time entries, merging and search. */
#include "dk-test-store.h"
#include "gateway/desk/desk.h"
#include "gateway/error.h"
#include "gateway/store/store-outbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static int setup(void **state)
{
	*state = dk_test_store_new();
	return 0;
}

static int teardown(void **state)
{
	dk_test_store_free(*state);
	return 0;
}

static DkStore *store_of(void **state)
{
	return ((DkTestStore *)*state)->store;
}

/* A ticket with one inbound article, in status. */
static gint64 ticket_new(DkStore *s, const char *subject, const char *text, const char *status,
                         gint64 now)
{
	assert_true(dk_store_begin(s, NULL));
	gint64 n = dk_store_ticket_create(s, subject, "alice@example.com", now, NULL);
	assert_true(n > 0);
	g_autofree char *mid = g_strdup_printf("m%" G_GINT64_FORMAT "@example.com", n);
	DkArticle a = {.ticket = n,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .sender = "alice@example.com",
	               .subject = (char *)subject,
	               .message_id = mid,
	               .new_text = (char *)text,
	               .full_text = (char *)text,
	               .created_at = now};
	assert_true(dk_store_article_add(s, &a, NULL) > 0);
	assert_true(dk_store_message_id_add(s, mid, n, a.id, NULL));
	assert_true(dk_store_participant_add(s, n, "alice@example.com", DK_ROLE_REQUESTER, NULL));
	DkTicketStatus to;
	assert_true(dk_ticket_status_parse(status, &to));
	if (strcmp(status, "new") != 0)
		assert_true(dk_store_ticket_set_status(s, n, to, now, NULL));
	assert_true(dk_store_commit(s, NULL));
	return n;
}

/* dk_desk_reply of text by author, with [desk] reply_status as given
 * (waiting, or none to leave the status alone). */
static gint64 reply_as(DkStore *s, gint64 n, const char *text, const char *author,
                       const char *reply_status, gint64 now)
{
	g_autofree char *conf = g_strdup_printf("[desk]\nreply_status = %s\n", reply_status);
	g_autoptr(DkConfig) config = dk_config_load_data(conf, strlen(conf), "reply.conf", NULL);
	assert_non_null(config);
	g_autoptr(DkConversation) conversation = dk_conversation_new(config);
	DkReply reply = {.text = text, .author = author};
	return dk_desk_reply(s, conversation, n, &reply, now, NULL);
}

static char *status_of(DkStore *s, gint64 n)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(s, n, NULL);
	assert_non_null(t);
	return g_strdup(dk_ticket_status_name(t->status));
}

/* The events of ticket n as "type detail" lines. */
static char *events_of(DkStore *s, gint64 n)
{
	g_autoptr(GPtrArray) events = dk_store_events(s, n, NULL);
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < events->len; i++) {
		const DkEvent *e = g_ptr_array_index(events, i);
		g_string_append_printf(out, "%s %s\n", e->type, e->detail);
	}
	return g_string_free(out, FALSE);
}

static void test_transitions(void **state)
{
	(void)state;
	static const struct {
		const char *from, *to;
		gboolean allowed;
	} cases[] = {
	    {"new", "open", TRUE},
	    {"new", "in_progress", TRUE},
	    {"new", "waiting", TRUE},
	    {"new", "on_hold", TRUE},
	    {"new", "resolved", TRUE},
	    {"new", "closed", FALSE},
	    {"open", "new", FALSE},
	    {"open", "waiting", TRUE},
	    {"open", "closed", FALSE},
	    {"waiting", "open", TRUE},
	    {"waiting", "on_hold", TRUE},
	    {"waiting", "resolved", TRUE},
	    {"on_hold", "in_progress", TRUE},
	    {"in_progress", "closed", FALSE},
	    {"resolved", "closed", TRUE},
	    {"resolved", "open", TRUE},
	    {"resolved", "in_progress", TRUE},
	    {"resolved", "waiting", FALSE},
	    {"resolved", "new", FALSE},
	    {"closed", "open", TRUE},
	    {"closed", "resolved", FALSE},
	    {"closed", "in_progress", FALSE},
	    {"closed", "closed", TRUE},
	    {"open", "open", TRUE},
	    {"open", "bogus", FALSE},
	    {"bogus", "open", FALSE},
	    {NULL, "open", FALSE},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		DkTicketStatus from, to;
		gboolean allowed = dk_ticket_status_parse(cases[i].from, &from) &&
		                   dk_ticket_status_parse(cases[i].to, &to) &&
		                   dk_desk_transition_allowed(from, to);
		if (allowed != cases[i].allowed)
			fail_msg("%s -> %s should be %s", cases[i].from, cases[i].to,
			         cases[i].allowed ? "allowed" : "refused");
	}
}

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		gint64 minutes; /* 0: refused */
	} cases[] = {
	    {"30m", 30}, {"1h15m", 75}, {"2h", 120},      {"1h 5m", 65},
	    {"90m", 90}, {"1H", 60},    {"1000h", 60000}, {"1001h", 0},
	    {"0m", 0},   {"", 0},       {"15", 0},        {"h", 0},
	    {"1d", 0},   {"-5m", 0},    {"1h15", 0},      {"99999999999999999999h", 0},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		gint64 minutes = 0;
		g_autoptr(GError) error = NULL;
		gboolean ok = dk_desk_parse_duration(cases[i].text, &minutes, &error);
		if (ok != (cases[i].minutes != 0) || (ok && minutes != cases[i].minutes))
			fail_msg("“%s”: got %d/%" G_GINT64_FORMAT, cases[i].text, ok, minutes);
	}
	static const struct {
		gint64 minutes;
		const char *text;
	} formats[] = {{30, "30m"}, {75, "1h15m"}, {120, "2h"},    {61, "1h1m"},
	               {0, "0m"},   {-5, "-5m"},   {-127, "-2h7m"}};
	for (guint i = 0; i < G_N_ELEMENTS(formats); i++) {
		g_autofree char *s = dk_desk_format_duration(formats[i].minutes);
		assert_string_equal(s, formats[i].text);
	}
}

static void test_set_status_checks(void **state)
{
	DkStore *s = store_of(state);
	gint64 n = ticket_new(s, "Printer", "jammed", "new", 1000);
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(s, NULL));
	assert_false(dk_desk_set_status(s, n, "closed", "cli", 1100, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	assert_non_null(strstr(error->message, "resolved before it is closed"));
	g_clear_error(&error);
	assert_false(dk_desk_set_status(s, n, "done", "cli", 1100, &error));
	g_clear_error(&error);
	assert_false(dk_desk_set_status(s, 999, "open", "cli", 1100, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
	assert_true(dk_desk_set_status(s, n, "open", "cli", 1100, NULL));
	assert_true(dk_desk_set_status(s, n, "open", "cli", 1150, NULL)); /* no change, no event */
	assert_true(dk_desk_set_priority(s, n, "high", "cli", 1200, NULL));
	assert_false(dk_desk_set_priority(s, n, "urgent", "cli", 1200, NULL));
	assert_true(dk_desk_assign(s, n, "bob@example.com", "cli", 1300, NULL));
	assert_true(dk_desk_set_queue(s, n, "hardware", "cli", 1300, NULL));
	assert_true(dk_desk_tag(s, n, "printer", "cli", 1300, NULL));
	assert_true(dk_desk_tag(s, n, "printer", "cli", 1300, NULL)); /* had it: nothing */
	assert_true(dk_desk_untag(s, n, "printer", "cli", 1300, NULL));
	assert_true(dk_desk_untag(s, n, "printer", "cli", 1300, NULL));
	assert_true(dk_desk_assign(s, n, NULL, "cli", 1400, NULL));
	assert_true(dk_store_commit(s, NULL));
	g_autofree char *events = events_of(s, n);
	assert_string_equal(
	    events, "status_change {\"by\":\"cli\",\"new\":\"open\",\"old\":\"new\"}\n"
	            "priority_change {\"by\":\"cli\",\"new\":\"high\",\"old\":\"none\"}\n"
	            "assignment {\"by\":\"cli\",\"new\":\"bob@example.com\",\"old\":null}\n"
	            "queue_change {\"by\":\"cli\",\"new\":\"hardware\",\"old\":\"default\"}\n"
	            "tag {\"by\":\"cli\",\"tag\":\"printer\"}\n"
	            "untag {\"by\":\"cli\",\"tag\":\"printer\"}\n"
	            "assignment {\"by\":\"cli\",\"new\":null,\"old\":\"bob@example.com\"}\n");
	g_autoptr(DkTicket) t = dk_store_ticket_get(s, n, NULL);
	assert_string_equal(t->priority, "high");
	assert_string_equal(t->queue, "hardware");
	assert_null(t->assignee);
	assert_int_equal(t->updated_at, 1400);
}

static void test_autoclose(void **state)
{
	DkStore *s = store_of(state);
	const gint64 day = 86400, t0 = 1700000000;
	gint64 old = ticket_new(s, "Old", "x", "open", t0);
	gint64 recent = ticket_new(s, "Recent", "y", "open", t0);
	gint64 open = ticket_new(s, "Open", "z", "open", t0);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_status(s, old, "resolved", "cli", t0, NULL));
	assert_true(dk_desk_set_status(s, recent, "resolved", "cli", t0 + 3 * day, NULL));
	guint closed = 99;
	/* Just short of 7 days: nothing. */
	assert_true(dk_desk_autoclose(s, 7, t0 + 7 * day - 1, &closed, NULL));
	assert_int_equal(closed, 0);
	assert_true(dk_desk_autoclose(s, 7, t0 + 7 * day, &closed, NULL));
	assert_int_equal(closed, 1);
	assert_true(dk_desk_autoclose(s, 7, t0 + 7 * day + 1, &closed, NULL)); /* closed once */
	assert_int_equal(closed, 0);
	assert_true(dk_store_commit(s, NULL));
	g_autofree char *s1 = status_of(s, old), *s2 = status_of(s, recent),
	                *s3 = status_of(s, open);
	assert_string_equal(s1, "closed");
	assert_string_equal(s2, "resolved");
	assert_string_equal(s3, "open");
	g_autofree char *events = events_of(s, old);
	assert_non_null(
	    strstr(events,
	           "status_change {\"by\":\"autoclose\",\"new\":\"closed\",\"old\":\"resolved\"}"));
	g_autoptr(DkTicket) t = dk_store_ticket_get(s, old, NULL);
	assert_int_equal(t->closed_at, t0); /* when it was resolved */
}

static void test_customer_reply_reopens_waiting(void **state)
{
	DkStore *s = store_of(state);
	gint64 waiting = ticket_new(s, "W", "x", "waiting", 1000);
	gint64 on_hold = ticket_new(s, "H", "x", "on_hold", 1000);
	assert_true(dk_store_begin(s, NULL));
	for (gint64 n = waiting; n <= on_hold; n++) {
		g_autoptr(DkTicket) t = dk_store_ticket_get(s, n, NULL);
		assert_true(dk_desk_customer_reply(s, t, 0, 2000, NULL));
	}
	assert_true(dk_store_commit(s, NULL));
	g_autofree char *a = status_of(s, waiting), *b = status_of(s, on_hold);
	assert_string_equal(a, "open");
	assert_string_equal(b, "on_hold");
	g_autofree char *events = events_of(s, waiting);
	assert_string_equal(
	    events,
	    "status_change {\"by\":\"customer_reply\",\"new\":\"open\",\"old\":\"waiting\"}\n");
}

static void test_note_reply_time(void **state)
{
	DkStore *s = store_of(state);
	gint64 n = ticket_new(s, "VPN", "does not connect", "open", 1000);
	assert_true(dk_store_begin(s, NULL));
	gint64 note = dk_desk_note(s, n, "checked the logs", "bob@example.com", 1100, NULL);
	gint64 reply = reply_as(s, n, "please restart", "bob@example.com", "waiting", 1200);
	assert_true(note > 0 && reply > note);
	assert_true(dk_desk_add_time(s, n, 45, "diagnosis", "bob@example.com", 1300, NULL));
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(GPtrArray) articles = dk_store_articles(s, n, NULL);
	assert_int_equal(articles->len, 3);
	const DkArticle *a = g_ptr_array_index(articles, 1), *b = g_ptr_array_index(articles, 2);
	assert_string_equal(dk_visibility_name(a->visibility), "internal");
	assert_string_equal(dk_direction_name(a->direction), "outbound");
	assert_string_equal(dk_visibility_name(b->visibility), "public");
	assert_string_equal(b->new_text, "please restart");
	g_autoptr(GPtrArray) rows = dk_store_outbox_list(s, "pending", 0, NULL);
	assert_int_equal(rows->len, 1);
	const DkOutboxRow *row = g_ptr_array_index(rows, 0);
	assert_string_equal(row->kind, "relay");
	assert_string_equal(row->target, "alice@example.com");
	g_autofree char *payload = g_strdup_printf(
	    "{\"article\":%" G_GINT64_FORMAT ",\"cc\":[],\"from\":\"bob@example.com\","
	    "\"ticket\":%" G_GINT64_FORMAT ",\"to\":\"alice@example.com\"}",
	    reply, n);
	assert_string_equal(row->payload, payload);
	g_autoptr(GPtrArray) entries = dk_store_time_entries(s, n, NULL);
	assert_int_equal(entries->len, 1);
	assert_int_equal(((DkTimeEntry *)g_ptr_array_index(entries, 0))->minutes, 45);
	g_autofree char *events = events_of(s, n);
	assert_non_null(strstr(
	    events, "time_entry "
	            "{\"by\":\"bob@example.com\",\"id\":1,\"minutes\":45,\"note\":\"diagnosis\"}"));
	assert_non_null(strstr(events, "outbound_relay_queued"));
	/* the reply waits for the customer now */
	g_autofree char *status = status_of(s, n);
	assert_string_equal(status, "waiting");
}

static void test_merge(void **state)
{
	DkStore *s = store_of(state);
	gint64 a = ticket_new(s, "Mail down", "cannot send", "open", 1000);
	gint64 b = ticket_new(s, "Mail broken", "same here", "new", 1100);
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_store_tag_add(s, b, "mail", NULL));
	assert_false(dk_desk_merge(s, a, a, "cli", 1200, &error));
	g_clear_error(&error);
	assert_true(dk_desk_merge(s, a, b, "cli", 1200, NULL));
	assert_false(dk_desk_merge(s, a, b, "cli", 1200, &error)); /* merged already */
	g_clear_error(&error);
	assert_false(dk_desk_merge(s, b, a, "cli", 1200, &error)); /* into a merged ticket */
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(GPtrArray) articles = dk_store_articles(s, a, NULL);
	assert_int_equal(articles->len, 2);
	g_autoptr(GPtrArray) left = dk_store_articles(s, b, NULL);
	assert_int_equal(left->len, 0);
	gint64 owner = 0, into = 0, resolved = 0;
	gboolean found = FALSE;
	assert_true(dk_store_message_id_find(s, "m2@example.com", &owner, &found, NULL));
	assert_true(found);
	assert_int_equal(owner, a);
	assert_true(dk_store_ticket_merged_into(s, b, &into, NULL));
	assert_int_equal(into, a);
	assert_true(dk_desk_resolve_merged(s, b, &resolved, NULL));
	assert_int_equal(resolved, a);
	g_autofree char *status = status_of(s, b);
	assert_string_equal(status, "closed");
	g_autoptr(GPtrArray) tags = dk_store_tags(s, a, NULL);
	assert_int_equal(tags->len, 1);
	/* Merged tickets are left out of lists. */
	DkTicketQuery q = {0};
	g_autoptr(GPtrArray) listed = dk_store_ticket_query(s, &q, NULL);
	assert_int_equal(listed->len, 1);
}

static void test_query_and_search(void **state)
{
	DkStore *s = store_of(state);
	gint64 low = ticket_new(s, "Coffee machine", "the espresso grinder is noisy", "open", 1000);
	gint64 crit =
	    ticket_new(s, "Database outage", "replication lag on the primary", "open", 2000);
	gint64 done = ticket_new(s, "Old thing", "espresso again", "resolved", 500);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_priority(s, low, "low", NULL, 1000, NULL));
	assert_true(dk_desk_set_priority(s, crit, "critical", NULL, 2000, NULL));
	assert_true(dk_desk_assign(s, crit, "Bob@Example.com", NULL, 2000, NULL));
	assert_true(dk_store_commit(s, NULL));
	DkTicketQuery q = {0};
	g_autoptr(GPtrArray) all = dk_store_ticket_query(s, &q, NULL);
	assert_int_equal(all->len, 3);
	assert_int_equal(((DkTicket *)g_ptr_array_index(all, 0))->number,
	                 crit); /* most urgent first */
	assert_int_equal(((DkTicket *)g_ptr_array_index(all, 1))->number, low);
	const DkTicketStatus open_only[] = {DK_STATUS_OPEN, DK_STATUS_WAITING};
	q = (DkTicketQuery){.statuses = open_only,
	                    .n_statuses = G_N_ELEMENTS(open_only),
	                    .assignee = "bob@example.com"};
	g_autoptr(GPtrArray) mine = dk_store_ticket_query(s, &q, NULL);
	assert_int_equal(mine->len, 1);
	q = (DkTicketQuery){.created_since = 900, .priority = "low"};
	g_autoptr(GPtrArray) since = dk_store_ticket_query(s, &q, NULL);
	assert_int_equal(since->len, 1);
	g_autoptr(GPtrArray) hits = dk_store_search(s, "espresso", 0, NULL);
	assert_int_equal(hits->len, 2);
	g_autoptr(GPtrArray) both = dk_store_search(s, "espresso GRINDER", 0, NULL);
	assert_int_equal(both->len, 1);
	assert_int_equal(((DkSearchHit *)g_ptr_array_index(both, 0))->ticket, low);
	assert_non_null(strstr(((DkSearchHit *)g_ptr_array_index(both, 0))->snippet, "[espresso]"));
	g_autoptr(GPtrArray) subject = dk_store_search(s, "outage", 0, NULL);
	assert_int_equal(subject->len, 1);
	g_autoptr(GPtrArray) odd = dk_store_search(s, "\"lag\" OR) NEAR(", 0, NULL);
	assert_non_null(odd); /* punctuation is never query syntax */
	g_autoptr(GPtrArray) none = dk_store_search(s, "   ", 0, NULL);
	assert_int_equal(none->len, 0);
	(void)done;
}

/* A ticket whose articles match many times is one hit, with its best
 * article; other tickets still follow. */
static void test_search_one_hit_per_ticket(void **state)
{
	DkStore *s = store_of(state);
	gint64 a = ticket_new(s, "Paper jam", "the toner is low, nothing else", "open", 1000);
	gint64 b = ticket_new(s, "Scanner", "the toner light blinks on the scanner", "open", 1000);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_note(s, a, "ordered toner", NULL, 1100, NULL) > 0);
	gint64 best =
	    dk_desk_note(s, a, "toner toner toner: all three toner cartridges", NULL, 1200, NULL);
	assert_true(best > 0);
	assert_true(dk_desk_note(s, a, "toner arrived today", NULL, 1300, NULL) > 0);
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(GPtrArray) hits = dk_store_search(s, "toner", 0, NULL);
	assert_int_equal(hits->len, 2);
	const DkSearchHit *first = g_ptr_array_index(hits, 0), *second = g_ptr_array_index(hits, 1);
	assert_int_equal(first->ticket, a);
	assert_int_equal(first->article, best);
	assert_non_null(strstr(first->snippet, "[toner]"));
	assert_int_equal(second->ticket, b);
	assert_true(first->rank <= second->rank);
	g_autoptr(GPtrArray) one = dk_store_search(s, "toner", 1, NULL);
	assert_int_equal(one->len, 1); /* the limit counts tickets */
}

/* One ticket's life, step by step, with the default policy (around the
 * clock, high: 1 h / 8 h): the history so far, what the clocks are then and
 * what the list shows, by hand. */
static void test_sla_clock(void **state)
{
	(void)state;
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new_default();
	static const gint64 times[] = {0, 1800, 5000, 5400, 40000};
	static const DkTicketStatus statuses[] = {DK_STATUS_NEW, DK_STATUS_WAITING,
	                                          DK_STATUS_ON_HOLD, DK_STATUS_OPEN,
	                                          DK_STATUS_RESOLVED};
	static const struct {
		gint64 now;
		guint n; /* how much of the history has happened */
		gint64 first_response_at, closed_at;
		gint64 first_due, resolution_due, paused_seconds;
		const char *left;
	} steps[] = {
	    {0, 1, 0, 0, 3600, 28800, 0, "1h"},
	    {600, 1, 0, 0, 3600, 28800, 0, "50m"},
	    /* paused at 1800: the pause counts up to now, so due moves on,
	     * and the time left stands at what it was then */
	    {1800, 2, 0, 0, 3600, 28800, 0, "30m paused"},
	    {5000, 3, 0, 0, 3600 + 3200, 28800 + 3200, 3200, "30m paused"},
	    /* open again at 5400 after 1 h paused: 3600 + 3600, 28800 + 3600 */
	    {5400, 4, 0, 0, 7200, 32400, 3600, "30m"},
	    {7300, 4, 0, 0, 7200, 32400, 3600, "-2m"},      /* first response late */
	    {7300, 4, 7300, 0, 7200, 32400, 3600, "6h58m"}, /* answered: resolution next */
	    {40000, 4, 7300, 0, 7200, 32400, 3600, "-2h7m"},
	    {40000, 5, 7300, 40000, 7200, 32400, 3600, "late"}, /* resolved after 32400 */
	};
	DkTicketSla sla = {0};
	for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
		DkTicket t = {.priority = "high",
		              .queue = "default",
		              .status = statuses[steps[i].n - 1],
		              .closed_at = steps[i].closed_at};
		sla.first_response_at = steps[i].first_response_at;
		dk_desk_sla_compute(policy, &t, times, statuses, steps[i].n, steps[i].now, &sla);
		assert_int_equal(sla.first_response_due, steps[i].first_due);
		assert_int_equal(sla.resolution_due, steps[i].resolution_due);
		assert_int_equal(sla.paused_seconds, steps[i].paused_seconds);
		g_autofree char *left = dk_desk_sla_left(&t, &sla, steps[i].now);
		gint64 seconds = 0;
		if (dk_desk_sla_left_seconds(&t, &sla, steps[i].now, &seconds)) {
			g_autofree char *minutes = dk_desk_format_duration(
			    seconds >= 0 ? seconds / 60 : -((-seconds + 59) / 60));
			assert_non_null(g_str_has_prefix(left, minutes) ? left : NULL);
		}
		if (strcmp(left, steps[i].left) != 0)
			fail_msg("step %u: left %s, expected %s", i, left, steps[i].left);
	}
	DkTicket met = {.priority = "high", .status = DK_STATUS_CLOSED, .closed_at = 30000};
	g_autofree char *m = dk_desk_sla_left(&met, &sla, 50000);
	assert_string_equal(m, "met");
	DkTicket none = {.priority = "none", .queue = "default", .status = DK_STATUS_OPEN};
	DkTicketSla zero = {0};
	dk_desk_sla_compute(policy, &none, times, statuses, 1, 100, &zero);
	g_autofree char *n = dk_desk_sla_left(&none, &zero, 100);
	assert_string_equal(n, "-");
}

static void test_sla_stored(void **state)
{
	DkStore *s = store_of(state);
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new_default();
	gint64 n = ticket_new(s, "Server down", "all of it", "new", 1000);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_priority(s, n, "critical", NULL, 1000, NULL));
	assert_true(dk_desk_sla_update(s, policy, n, 1000, NULL));
	DkTicketSla sla;
	assert_true(dk_store_ticket_sla_get(s, n, &sla, NULL));
	assert_int_equal(sla.first_response_due, 1000 + 15 * 60);
	assert_int_equal(sla.resolution_due, 1000 + 4 * 3600);
	assert_true(dk_desk_set_status(s, n, "waiting", NULL, 1100, NULL));
	assert_true(dk_desk_set_status(s, n, "open", NULL, 1700, NULL));
	assert_true(reply_as(s, n, "on it", NULL, "none", 1800) > 0);
	assert_true(dk_desk_sla_update(s, policy, n, 1800, NULL));
	assert_true(dk_store_ticket_sla_get(s, n, &sla, NULL));
	assert_true(dk_store_commit(s, NULL));
	assert_int_equal(sla.paused_seconds, 600);
	assert_int_equal(sla.first_response_due, 1000 + 15 * 60 + 600);
	assert_int_equal(sla.first_response_at, 1800);
	assert_int_equal(sla.paused_since, 0);
}

/* The states ticket_sla reads, by hand from the clocks. */
static void test_sla_states(void **state)
{
	(void)state;
	static const struct {
		DkTicketSla sla;
		gint64 now;
		const char *states;
	} cases[] = {
	    {{.first_response_due = 900, .resolution_due = 14400}, 100, ""},
	    /* due passed while the clock runs */
	    {{.first_response_due = 900, .resolution_due = 14400},
	     900,
	     "breached first_response_breached"},
	    /* a paused clock's due time is only a lower bound */
	    {{.first_response_due = 900, .resolution_due = 14400, .paused_since = 500},
	     900,
	     "paused"},
	    {{.first_response_due = 900, .resolution_due = 14400, .first_response_at = 800},
	     15000,
	     "breached resolution_breached answered"},
	    {{.first_response_due = 900, .resolution_due = 14400, .first_response_at = 1000},
	     1000,
	     "breached first_response_breached answered"},
	    /* recorded breaches stay, even when the due time moved on */
	    {{.first_response_due = 5000,
	      .resolution_due = 20000,
	      .first_response_breached_at = 900},
	     1000,
	     "breached first_response_breached"},
	    {{0}, 100, "no_target"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_auto(GStrv) states = dk_desk_sla_states(&cases[i].sla, cases[i].now);
		g_autofree char *joined = g_strjoinv(" ", states);
		if (strcmp(joined, cases[i].states) != 0)
			fail_msg("case %u: “%s”, expected “%s”", i, joined, cases[i].states);
	}
}

static guint breach_check(DkStore *s, const DkSlaPolicy *policy, gint64 now)
{
	static const char *const team[] = {"team@example.com", "lead@example.com", NULL};
	guint n = 99;
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_sla_check(s, policy, team, now, &n, NULL));
	assert_true(dk_store_commit(s, NULL));
	return n;
}

/* The sla-breach notices queued. */
static guint breach_notices(DkStore *s)
{
	g_autoptr(GPtrArray) rows = dk_store_outbox_list(s, NULL, 0, NULL);
	guint notices = 0;
	for (guint i = 0; i < rows->len; i++) {
		const DkOutboxRow *r = g_ptr_array_index(rows, i);
		if (strcmp(r->kind, "notice") == 0 && strstr(r->payload, "sla-breach") != NULL)
			notices++;
	}
	return notices;
}

/* Breaches are recorded once per target, each with one notice per team
 * address; a paused ticket does not breach while its clock stands. */
static void test_sla_breach_once(void **state)
{
	DkStore *s = store_of(state);
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new_default();
	gint64 a = ticket_new(s, "Outage", "down", "new", 0);
	gint64 b = ticket_new(s, "Question", "how", "new", 0);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_priority(s, a, "critical", NULL, 0, NULL)); /* 15 min / 4 h */
	assert_true(dk_desk_set_priority(s, b, "critical", NULL, 0, NULL));
	assert_true(dk_desk_set_status(s, b, "waiting", NULL, 600, NULL)); /* paused after 10 min */
	assert_true(dk_store_commit(s, NULL));
	assert_int_equal(breach_check(s, policy, 899), 0);
	assert_int_equal(breach_check(s, policy, 900), 1);   /* a: first response due at 900 */
	assert_int_equal(breach_check(s, policy, 960), 0);   /* once */
	assert_int_equal(breach_check(s, policy, 7200), 0);  /* b is paused */
	assert_int_equal(breach_check(s, policy, 14400), 1); /* a: resolution due at 14400 */
	assert_int_equal(breach_check(s, policy, 20000), 0);
	g_autofree char *ev = events_of(s, a);
	assert_non_null(strstr(ev, "sla_breach {\"due\":900,\"target\":\"first_response\"}"));
	assert_non_null(strstr(ev, "sla_breach {\"due\":14400,\"target\":\"resolution\"}"));
	g_autofree char *ev_b = events_of(s, b);
	assert_null(strstr(ev_b, "sla_breach"));
	assert_int_equal(breach_notices(s), 4); /* two breaches, two team addresses */
	/* b back to open at 7200: 5 of its 15 minutes were left. */
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_status(s, b, "open", NULL, 7200, NULL));
	assert_true(dk_store_commit(s, NULL));
	assert_int_equal(breach_check(s, policy, 7200 + 299), 0);
	assert_int_equal(breach_check(s, policy, 7200 + 300), 1);
}

/* The check in batches (what `docket serve` commits one by one): five
 * tickets two at a time, in order, each missed target found once, and
 * the end said by a last ticket of 0. */
static void test_sla_check_in_batches(void **state)
{
	DkStore *s = store_of(state);
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new_default();
	gint64 t[5];
	for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
		t[i] = ticket_new(s, "Outage", "down", "new", 0);
		assert_true(dk_store_begin(s, NULL));
		assert_true(dk_desk_set_priority(s, t[i], "critical", NULL, 0, NULL));
		assert_true(dk_store_commit(s, NULL));
	}
	gint64 after = 0, seen[4] = {0};
	guint batches = 0, breaches = 0;
	do {
		guint n = 0;
		assert_true(dk_store_begin(s, NULL));
		assert_true(dk_desk_sla_check_from(s, policy, NULL, 900, FALSE, after, 2, &after,
		                                   &n, NULL));
		assert_true(dk_store_commit(s, NULL));
		assert_true(batches < G_N_ELEMENTS(seen));
		seen[batches++] = after;
		breaches += n;
	} while (after != 0);
	assert_int_equal(batches, 4); /* 2, 2, 1, then none left */
	assert_int_equal(seen[0], t[1]);
	assert_int_equal(seen[1], t[3]);
	assert_int_equal(seen[2], t[4]);
	assert_int_equal(breaches, 5); /* every first response due at 900 */
	assert_int_equal(breach_check(s, policy, 960), 0);
}

/* A ticket made at 0 with priority and its clocks (the default policy). */
static gint64 ticket_with(DkStore *s, const char *subject, const char *priority)
{
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new_default();
	gint64 n = ticket_new(s, subject, "text", "new", 0);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_priority(s, n, priority, NULL, 0, NULL));
	assert_true(dk_desk_sla_update(s, policy, n, 0, NULL));
	assert_true(dk_store_commit(s, NULL));
	return n;
}

/* Sets ticket's status at now and recomputes its clocks, as the command
 * line does. */
static void status_at(DkStore *s, const DkSlaPolicy *policy, gint64 n, const char *status,
                      gint64 now)
{
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_status(s, n, status, NULL, now, NULL));
	assert_true(dk_desk_sla_update(s, policy, n, now, NULL));
	assert_true(dk_store_commit(s, NULL));
}

static guint count_of(const char *text, const char *needle)
{
	guint n = 0;
	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* A ticket resolved after its targets passed, with no check in between:
 * the breaches are recorded when it is resolved, in that transaction, once
 * per target, with the team's notices; one resolved in time has none. */
/* The check of the tickets due by now only (`docket serve` between whole
 * checks): a ticket whose first response is due later is not looked at;
 * one answered in time neither. */
static void test_sla_check_due_only(void **state)
{
	DkStore *s = store_of(state);
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new_default();
	gint64 late = ticket_with(s, "Outage", "critical"); /* first response due at 900 */
	ticket_with(s, "Question", "low");
	gint64 answered = ticket_with(s, "Slow", "critical");
	assert_true(dk_store_begin(s, NULL));
	assert_true(reply_as(s, answered, "looking", NULL, "none", 600) > 0);
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(GArray) early = dk_store_tickets_sla_open(s, 0, 0, 899, NULL);
	assert_int_equal(early->len, 0);
	g_autoptr(GArray) due = dk_store_tickets_sla_open(s, 0, 0, 900, NULL);
	assert_int_equal(due->len, 1);
	assert_int_equal(g_array_index(due, gint64, 0), late);
	g_autoptr(GArray) all = dk_store_tickets_sla_open(s, 0, 0, 0, NULL);
	assert_int_equal(all->len, 3);
	guint n = 0;
	gint64 last = 0;
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_sla_check_from(s, policy, NULL, 900, TRUE, 0, 0, &last, &n, NULL));
	assert_true(dk_store_commit(s, NULL));
	assert_int_equal(n, 1);
	assert_int_equal(last, late);
}

static void test_sla_breach_at_resolution(void **state)
{
	DkStore *s = store_of(state);
	static const char conf[] =
	    "[notify]\nteam_addresses = team@example.com, lead@example.com\n";
	g_autoptr(DkConfig) config = dk_config_load_data(conf, sizeof conf - 1, "team.conf", NULL);
	assert_non_null(config);
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new(config, NULL);
	assert_non_null(policy);
	gint64 late = ticket_with(s, "Outage", "critical"); /* 15 min / 4 h */
	gint64 answered = ticket_with(s, "Slow", "critical");
	gint64 in_time = ticket_with(s, "Question", "critical");
	assert_true(dk_store_begin(s, NULL));
	assert_true(reply_as(s, answered, "looking", NULL, "none", 600) > 0); /* in time */
	assert_true(dk_store_commit(s, NULL));
	status_at(s, policy, late, "resolved", 20000);
	status_at(s, policy, answered, "resolved", 14401);
	status_at(s, policy, in_time, "resolved", 800);
	g_autofree char *ev = events_of(s, late);
	assert_non_null(strstr(ev, "sla_breach {\"due\":900,\"target\":\"first_response\"}"));
	assert_non_null(strstr(ev, "sla_breach {\"due\":14400,\"target\":\"resolution\"}"));
	g_autofree char *ev_answered = events_of(s, answered);
	assert_int_equal(count_of(ev_answered, "sla_breach"), 1);
	assert_non_null(strstr(ev_answered, "\"target\":\"resolution\""));
	g_autofree char *ev_in_time = events_of(s, in_time);
	assert_null(strstr(ev_in_time, "sla_breach"));
	assert_int_equal(breach_notices(s), 6); /* three breaches, two team addresses */
	DkTicketSla sla;
	assert_true(dk_store_ticket_sla_get(s, late, &sla, NULL));
	assert_int_equal(sla.first_response_breached_at, 20000);
	assert_int_equal(sla.resolution_breached_at, 20000);
	/* Closing, reopening and resolving again, and the check: nothing more. */
	status_at(s, policy, late, "closed", 21000);
	status_at(s, policy, answered, "open", 21000);
	status_at(s, policy, answered, "resolved", 22000);
	assert_int_equal(breach_check(s, policy, 30000), 0);
	g_autofree char *again = events_of(s, late);
	assert_int_equal(count_of(again, "sla_breach"), 2);
	g_autofree char *again_answered = events_of(s, answered);
	assert_int_equal(count_of(again_answered, "sla_breach"), 1);
	assert_int_equal(breach_notices(s), 6);
	/* A failed change leaves no breach behind: the transaction is one. */
	gint64 rolled = ticket_with(s, "Rolled back", "critical");
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_status(s, rolled, "resolved", NULL, 20000, NULL));
	assert_true(dk_desk_sla_update(s, policy, rolled, 20000, NULL));
	dk_store_rollback(s);
	g_autofree char *ev_rolled = events_of(s, rolled);
	assert_null(strstr(ev_rolled, "sla_breach"));
	assert_int_equal(breach_notices(s), 6);
	/* Resolved in time, then changed under tighter targets: it was judged
	 * when it was resolved, not again. */
	static const char strict_conf[] = "[sla]\ncritical = 1m/2m\n";
	g_autoptr(DkConfig) strict_config =
	    dk_config_load_data(strict_conf, sizeof strict_conf - 1, "strict.conf", NULL);
	g_autoptr(DkSlaPolicy) strict = dk_sla_policy_new(strict_config, NULL);
	assert_non_null(strict);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_tag(s, in_time, "later", NULL, 5000, NULL));
	assert_true(dk_desk_sla_update(s, strict, in_time, 5000, NULL));
	assert_true(dk_store_commit(s, NULL));
	g_autofree char *ev_later = events_of(s, in_time);
	assert_null(strstr(ev_later, "sla_breach"));
}

/* A paused ticket's time left stands at what it was when the pause began,
 * stored, listed and sorted by; it runs on from there once resumed. */
static void test_sla_paused_frozen(void **state)
{
	DkStore *s = store_of(state);
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new_default();
	gint64 waiting = ticket_with(s, "Waiting", "critical"); /* 15 min to answer */
	gint64 running = ticket_with(s, "Running", "high");     /* 1 h to answer */
	gint64 overdue = ticket_with(s, "Overdue", "critical");
	gint64 none = ticket_with(s, "No target", "none");
	gint64 done = ticket_with(s, "Done", "critical");
	status_at(s, policy, waiting, "waiting", 600); /* 5 min left then */
	status_at(s, policy, done, "resolved", 100);
	DkTicketSla sla;
	gint64 left = 0;
	for (gint64 now = 600; now <= 7200; now += 3300) {
		assert_true(dk_store_begin(s, NULL));
		assert_true(dk_desk_sla_update(s, policy, waiting, now, NULL));
		assert_true(dk_store_commit(s, NULL));
		assert_true(dk_store_ticket_sla_get(s, waiting, &sla, NULL));
		assert_true(sla.has_paused_left);
		assert_int_equal(sla.paused_left, 300);
		g_autoptr(DkTicket) t = dk_store_ticket_get(s, waiting, NULL);
		assert_true(dk_desk_sla_left_seconds(t, &sla, now, &left));
		assert_int_equal(left, 300);
		g_autofree char *shown = dk_desk_sla_left(t, &sla, now);
		assert_string_equal(shown, "5m paused");
	}
	/* At 3000: overdue (-2100), waiting (300 frozen), running (600), then
	 * those without a target to count to by priority. */
	static const DkTicketStatus statuses[] = {DK_STATUS_NEW, DK_STATUS_WAITING,
	                                          DK_STATUS_RESOLVED};
	DkTicketQuery q = {.now = 3000, .statuses = statuses, .n_statuses = G_N_ELEMENTS(statuses)};
	g_autoptr(GPtrArray) listed = dk_store_ticket_query(s, &q, NULL);
	const gint64 expected[] = {overdue, waiting, running, done, none};
	assert_int_equal(listed->len, G_N_ELEMENTS(expected));
	for (guint i = 0; i < listed->len; i++)
		assert_int_equal(((DkTicket *)g_ptr_array_index(listed, i))->number, expected[i]);
	/* At 3300 the running ticket has 300 left too: it comes first. */
	q.now = 3300;
	g_autoptr(GPtrArray) tie = dk_store_ticket_query(s, &q, NULL);
	assert_int_equal(((DkTicket *)g_ptr_array_index(tie, 1))->number, running);
	assert_int_equal(((DkTicket *)g_ptr_array_index(tie, 2))->number, waiting);
	q.limit = 2;
	g_autoptr(GPtrArray) two = dk_store_ticket_query(s, &q, NULL);
	assert_int_equal(two->len, 2);
	/* Resumed at 7200: the 5 minutes run from there. */
	status_at(s, policy, waiting, "open", 7200);
	assert_true(dk_store_ticket_sla_get(s, waiting, &sla, NULL));
	assert_false(sla.has_paused_left);
	assert_int_equal(sla.first_response_due, 7200 + 300);
	g_autoptr(DkTicket) t = dk_store_ticket_get(s, waiting, NULL);
	assert_true(dk_desk_sla_left_seconds(t, &sla, 7260, &left));
	assert_int_equal(left, 240);
	/* None to count to: no target, or resolved. */
	g_autoptr(DkTicket) resolved = dk_store_ticket_get(s, done, NULL);
	assert_true(dk_store_ticket_sla_get(s, done, &sla, NULL));
	assert_false(dk_desk_sla_left_seconds(resolved, &sla, 7260, &left));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transitions),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test_setup_teardown(test_set_status_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_autoclose, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_customer_reply_reopens_waiting, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_note_reply_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_and_search, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_one_hit_per_ticket, setup, teardown),
	    cmocka_unit_test(test_sla_clock),
	    cmocka_unit_test(test_sla_states),
	    cmocka_unit_test_setup_teardown(test_sla_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sla_breach_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sla_check_in_batches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sla_breach_at_resolution, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sla_check_due_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sla_paused_frozen, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
