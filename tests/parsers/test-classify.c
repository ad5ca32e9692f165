/* Tests dk_classify: one small message per rule, then the sisimai bounce set
 * from the shared corpus with detection and original-Message-ID rates. */
#include "parsers/classify.h"
#include "parsers/message.h"

#include "dk-test.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static const char *const own_domains[] = {"help.example.org", NULL};

/* Parses raw into a DkMessage and classifies it. */
static DkMessage *classify(const char *raw, gsize len)
{
	g_autoptr(GBytes) bytes = g_bytes_new(raw, len);
	g_autoptr(GError) error = NULL;
	DkMessage *m = dk_message_parse(bytes, NULL, &error);
	if (m == NULL)
		return NULL;
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *gm = g_mime_parser_construct_message(parser, NULL);
	dk_classify(gm, m, own_domains);
	if (gm != NULL)
		g_object_unref(gm);
	g_object_unref(parser);
	g_object_unref(stream);
	return m;
}

typedef struct {
	const char *name;
	const char *raw;
	gboolean auto_reply, bulk, spam, loop, bounce;
	const char *recipient, *status, *original_id; /* when bounce */
	gboolean auto_generated;
} ClassifyCase;

#define HDR "From: Ann <ann@example.com>\nTo: help@help.example.org\nMessage-ID: <1@example.com>\n"

static const ClassifyCase cases[] = {
    {"plain", HDR "Subject: printer\n\nIt is broken.\n"},
    {"auto-submitted", HDR "Subject: x\nAuto-Submitted: auto-replied\n\nAway.\n", TRUE},
    /* Machine mail that answers nothing is no auto-reply (RFC 3834). */
    {"auto-submitted-generated",
     HDR "Subject: x\nAuto-Submitted: auto-generated; owner-email=\"a@b\"\n\nx\n",
     .auto_generated = TRUE},
    {"auto-submitted-notified", HDR "Subject: x\nAuto-Submitted: auto-notified\n\nx\n",
     .auto_generated = TRUE},
    {"nagios-alert",
     HDR "Subject: ** PROBLEM Service Alert: web01/HTTP is CRITICAL **\n"
         "Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\n\nHTTP CRITICAL\n",
     .auto_generated = TRUE},
    {"auto-submitted-no", HDR "Subject: x\nAuto-Submitted: no\n\nx\n"},
    {"x-autoreply", HDR "Subject: x\nX-Autoreply: yes\n\nx\n", TRUE},
    {"x-autorespond", HDR "Subject: x\nX-Autorespond: Away\n\nx\n", TRUE},
    {"precedence-auto-reply", HDR "Subject: x\nPrecedence: auto_reply\n\nx\n", TRUE},
    {"suppress-all", HDR "Subject: x\nX-Auto-Response-Suppress: All\n\nx\n",
     .auto_generated = TRUE},
    {"exchange-ooo",
     HDR "Subject: Automatic reply: x\nAuto-Submitted: auto-replied\n"
         "X-Auto-Response-Suppress: All\n\nx\n",
     TRUE},
    {"suppress-oof-only", HDR "Subject: x\nX-Auto-Response-Suppress: OOF, DR, RN, NRN\n\nx\n"},
    {"subject-en", HDR "Subject: Out of Office: printer\n\nx\n", TRUE},
    {"subject-automatic", HDR "Subject: Automatic reply: printer\n\nx\n", TRUE},
    {"subject-autoreply", HDR "Subject: Autoreply: printer\n\nx\n", TRUE},
    {"subject-de", HDR "Subject: Abwesenheitsnotiz: Drucker\n\nx\n", TRUE},
    {"subject-de-2", HDR "Subject: Automatische Antwort: Drucker\n\nx\n", TRUE},
    {"subject-fr", HDR "Subject: =?utf-8?q?R=C3=A9ponse_automatique_=3A_imprimante?=\n\nx\n", TRUE},
    {"subject-fr-absence", HDR "Subject: Absence: imprimante\n\nx\n", TRUE},
    {"subject-es", HDR "Subject: =?utf-8?q?Respuesta_autom=C3=A1tica=3A_x?=\n\nx\n", TRUE},
    {"subject-es-2", HDR "Subject: Fuera de la oficina\n\nx\n", TRUE},
    {"subject-nl", HDR "Subject: Afwezig: printer\n\nx\n", TRUE},
    {"subject-it", HDR "Subject: Risposta automatica: stampante\n\nx\n", TRUE},
    {"subject-zh", HDR "Subject: =?utf-8?b?6Ieq5Yqo5Zue5aSNOiDmiZPljbDmnLo=?=\n\nx\n", TRUE},
    {"subject-sv", HDR "Subject: Automatiskt svar: skrivare\n\nx\n", TRUE},
    {"subject-nb", HDR "Subject: Autosvar: skriver\n\nx\n", TRUE},
    {"subject-nl-2", HDR "Subject: Afwezigheidsbericht\n\nx\n", TRUE},
    {"subject-pl", HDR "Subject: =?utf-8?q?Automatyczna_odpowied=C5=BA=3A_drukarka?=\n\nx\n", TRUE},
    {"subject-fr-2", HDR "Subject: Je suis absent du bureau\n\nx\n", TRUE},
    {"subject-cs", HDR "Subject: =?utf-8?q?Automatick=C3=A1_odpov=C4=9B=C4=8F=3A_x?=\n\nx\n", TRUE},
    {"subject-hu", HDR "Subject: =?utf-8?q?Automatikus_v=C3=A1lasz=3A_x?=\n\nx\n", TRUE},
    {"subject-fi", HDR "Subject: Automaattinen vastaus: x\n\nx\n", TRUE},
    {"subject-ja", HDR "Subject: =?utf-8?b?6Ieq5YuV6L+U5L+hOiB4?=\n\nx\n", TRUE},
    {"subject-ko", HDR "Subject: =?utf-8?b?7J6Q64+ZIOydkeuLtTogeA==?=\n\nx\n", TRUE},
    {"subject-zh-hant", HDR "Subject: =?utf-8?b?6Ieq5YuV5Zue6KaGOiB4?=\n\nx\n", TRUE},
    {"subject-not-away", HDR "Subject: Away game tickets\n\nx\n"},
    {"subject-lotus", HDR "Subject: Jane Doe is out of the office (back 2 May)\n\nx\n", TRUE},
    {"subject-not-absence", HDR "Subject: Absence policy question\n\nx\n"},
    {"list-id", HDR "Subject: x\nList-Id: <users.lists.example.com>\n\nx\n", FALSE, TRUE},
    {"list-unsubscribe", HDR "Subject: x\nList-Unsubscribe: <mailto:u@example.com>\n\nx\n", FALSE,
     TRUE},
    {"precedence-bulk", HDR "Subject: x\nPrecedence: bulk\n\nx\n", FALSE, TRUE},
    {"precedence-list", HDR "Subject: x\nPrecedence: list\n\nx\n", FALSE, TRUE},
    {"precedence-junk", HDR "Subject: x\nPrecedence: junk\n\nx\n", FALSE, TRUE},
    {"spam-flag", HDR "Subject: x\nX-Spam-Flag: YES\n\nx\n", FALSE, FALSE, TRUE},
    {"spam-flag-no", HDR "Subject: x\nX-Spam-Flag: NO\n\nx\n"},
    {"spam-status", HDR "Subject: x\nX-Spam-Status: Yes, score=9.1 required=5.0\n\nx\n", FALSE,
     FALSE, TRUE},
    {"spam-status-no", HDR "Subject: x\nX-Spam-Status: No, score=0.1\n\nx\n"},
    {"x-loop-docket", HDR "Subject: x\nX-Loop: docket\n\nx\n", FALSE, FALSE, FALSE, TRUE},
    {"x-loop-domain", HDR "Subject: x\nX-Loop: help@help.example.org\n\nx\n", FALSE, FALSE, FALSE,
     TRUE},
    {"x-loop-other", HDR "Subject: x\nX-Loop: help@nothelp.example.org.evil\n\nx\n"},
    {"own-message-id",
     "From: a@example.com\nSubject: x\nMessage-ID: <t42.abc@help.example.org>\n\nx\n", FALSE, FALSE,
     FALSE, TRUE},
    {"own-subdomain-id",
     "From: a@example.com\nSubject: x\nMessage-ID: <t42@mx.help.example.org>\n\nx\n", FALSE, FALSE,
     FALSE, TRUE},
    {"dsn",
     "From: MAILER-DAEMON@mx.example.com\nTo: help@help.example.org\nSubject: Undelivered Mail "
     "Returned to Sender\n"
     "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
     "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n"
     "--b\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.com.\n\n"
     "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
     "Final-Recipient: rfc822; gone@example.com\nOriginal-Recipient: rfc822;gone@example.com\n"
     "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 unknown\n\n"
     "--b\nContent-Type: message/rfc822\n\nFrom: help@help.example.org\nTo: gone@example.com\n"
     "Message-ID: <t7.1@help.example.org>\nSubject: ticket\n\nhello\n--b--\n",
     FALSE, FALSE, FALSE, FALSE, TRUE, "gone@example.com", "5.1.1", "t7.1@help.example.org"},
    {"dsn-headers-only",
     "From: postmaster@example.com\nSubject: Delivery Status Notification (Failure)\nMIME-Version: "
     "1.0\n"
     "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n"
     "--b\nContent-Type: text/plain\n\nDelivery failed.\n"
     "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
     "Final-Recipient: rfc822;<full@example.com>\nAction: failed\nStatus: 5.2.2 (mailbox full)\n\n"
     "--b\nContent-Type: text/rfc822-headers\n\nFrom: help@help.example.org\n"
     "Message-ID:\n <t8@help.example.org>\n--b--\n",
     FALSE, FALSE, FALSE, FALSE, TRUE, "full@example.com", "5.2.2", "t8@help.example.org"},
    {"dsn-delivered",
     "From: MAILER-DAEMON@example.com\nSubject: Successful Mail Delivery Report\nMIME-Version: "
     "1.0\n"
     "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n"
     "--b\nContent-Type: text/plain\n\nDelivered.\n"
     "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
     "Final-Recipient: rfc822;a@example.com\nAction: delivered\nStatus: 2.0.0\n--b--\n"},
    {"arf", "From: abuse@example.net\nSubject: complaint\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\n\n"
            "--b\nContent-Type: text/plain\n\nThis is an abuse report. Undeliverable? no.\n"
            "--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
            "--b\nContent-Type: message/rfc822\n\nMessage-ID: <x@help.example.org>\n\nhi\n--b--\n"},
    {"qmail",
     "From: MAILER-DAEMON@mail.example.com\nTo: help@help.example.org\nSubject: failure notice\n\n"
     "Hi. This is the qmail-send program at mail.example.com.\n"
     "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
     "<nobody@example.com>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
     "--- Below this line is a copy of the message.\n\nReturn-Path: <help@help.example.org>\n"
     "Message-ID: <t9@help.example.org>\nSubject: ticket\n\nhi\n",
     FALSE, FALSE, FALSE, FALSE, TRUE, "nobody@example.com", "5.1.1", "t9@help.example.org"},
    {"exim",
     "From: Mail Delivery System <Mailer-Daemon@mx.example.com>\nTo: help@help.example.org\n"
     "Subject: Mail delivery failed: returning message to sender\nAuto-Submitted: auto-replied\n\n"
     "This message was created automatically by mail delivery software.\n\n"
     "A message that you sent could not be delivered to one or more of its\nrecipients. "
     "This is a permanent error. The following address(es) failed:\n\n  lost@example.com\n"
     "    SMTP error from remote mail server after RCPT TO:<lost@example.com>:\n"
     "    550 5.1.1 User unknown\n\n------ This is a copy of the message, including all the "
     "headers.\n\n"
     "Message-Id: <t10@help.example.org>\nFrom: help@help.example.org\n\nhi\n",
     FALSE, FALSE, FALSE, FALSE, TRUE, "lost@example.com", "5.1.1", "t10@help.example.org"},
    {"in-reply-to-only",
     "From: post_master@vtext.example.com\nTo: help@help.example.org\nSubject: Re:ticket\n"
     "In-Reply-To: <t11@help.example.org>\n\nError: Invalid user address\n\n"
     "Error message below:\n550 - Requested action not taken: no such user here\n",
     FALSE, FALSE, FALSE, FALSE, TRUE, NULL, NULL, "t11@help.example.org"},
    {"read-receipt",
     "From: ann@example.com\nSubject: Read: ticket\nMIME-Version: 1.0\n"
     "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"b\"\n\n"
     "--b\nContent-Type: text/plain\n\nYour message was read.\n"
     "--b\nContent-Type: message/disposition-notification\n\nDisposition: "
     "manual-action/MDN-sent-manually; displayed\n--b--\n",
     TRUE},
    {"human-mentions-bounce",
     HDR "Subject: my mail bounced\n\nMy mail to bob was undeliverable, can you help?\n"},
};

static void test_cases(void **state)
{
	(void)state;
	guint failed = 0;
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		const ClassifyCase *c = &cases[i];
		g_autoptr(DkMessage) m = classify(c->raw, strlen(c->raw));
		assert_non_null(m);
		const DkClassification *k = &m->classification;
		const DkBounce *b = k->bounce;
		gboolean ok = k->auto_reply == c->auto_reply &&
		              k->auto_generated == c->auto_generated && k->bulk == c->bulk &&
		              k->spam == c->spam && k->loop == c->loop && (b != NULL) == c->bounce;
		if (ok && b != NULL)
			ok = g_strcmp0(b->recipient, c->recipient) == 0 &&
			     g_strcmp0(b->status, c->status) == 0 &&
			     g_strcmp0(b->original_message_id, c->original_id) == 0;
		if (!ok) {
			failed++;
			printf("FAIL %s: auto_reply=%d auto_generated=%d bulk=%d spam=%d loop=%d "
			       "bounce=%s/%s/%s/%s\n",
			       c->name, k->auto_reply, k->auto_generated, k->bulk, k->spam, k->loop,
			       b ? "yes" : "no", b ? b->recipient : "", b ? b->status : "",
			       b ? b->original_message_id : "");
		}
	}
	printf("classify cases: %u/%u\n", (guint)G_N_ELEMENTS(cases) - failed,
	       (guint)G_N_ELEMENTS(cases));
	assert_int_equal(failed, 0);
}

/* Hostile bounces: long runs of what the classifier searches for. */
static void test_bounded(void **state)
{
	(void)state;
	const char *units[] = {"a@b.c ", "Message-ID:", "5.5.5.5.", ":::::", "@@@@", "x\n"};
	for (guint u = 0; u < G_N_ELEMENTS(units); u++) {
		g_autoptr(GString) raw = g_string_new("From: MAILER-DAEMON@example.com\n"
		                                      "Subject: Undelivered Mail\n\n");
		while (raw->len < 2 * 1024 * 1024)
			g_string_append(raw, units[u]);
		gint64 t0 = g_get_monotonic_time();
		g_autoptr(DkMessage) m = classify(raw->str, raw->len);
		double secs = (g_get_monotonic_time() - t0) / 1e6;
		g_autofree char *shown = g_strescape(units[u], NULL);
		printf("bounded: 2 MB of %-12s %.3f s\n", shown, secs);
		assert_non_null(m);
		assert_non_null(m->classification.bounce);
	}
}

static void test_no_gmime_message(void **state)
{
	(void)state;
	const char *raw = HDR "Subject: x\nAuto-Submitted: auto-replied\n\nx\n";
	g_autoptr(GBytes) bytes = g_bytes_new_static(raw, strlen(raw));
	g_autoptr(DkMessage) m = dk_message_parse(bytes, NULL, NULL);
	assert_non_null(m);
	dk_classify(NULL, m, NULL);
	assert_true(m->classification.auto_reply);
	assert_null(m->classification.bounce);
	assert_false(m->classification.loop);
}

/* The sisimai set: what each file should be, from its name and its entry in
 * expectations.json (see corpus/sisimai/SOURCE.md). */
typedef enum { WANT_BOUNCE, WANT_FEEDBACK, WANT_AUTO_REPLY, WANT_DELIVERED, WANT_NOT_BOUNCE } Want;

static Want sisimai_want(const char *folder, const char *name, json_t *all)
{
	if (strcmp(folder, "not-bounce") == 0)
		return WANT_NOT_BOUNCE;
	if (g_str_has_prefix(name, "arf-"))
		return WANT_FEEDBACK;
	if (g_str_has_prefix(name, "rfc3834-"))
		return WANT_AUTO_REPLY;
	json_t *recipients = json_object_get(json_object_get(all, name), "recipients");
	const char *reason =
	    json_string_value(json_object_get(json_array_get(recipients, 0), "reason"));
	if (reason != NULL && strcmp(reason, "feedback") == 0)
		return WANT_FEEDBACK;
	if (reason != NULL && strcmp(reason, "delivered") == 0)
		return WANT_DELIVERED;
	if (reason != NULL && strcmp(reason, "vacation") == 0)
		return WANT_AUTO_REPLY;
	return WANT_BOUNCE;
}

/* The Message-IDs a bounce visibly carries: "Message-ID: <...>" lines
 * (also quoted or prefixed, as "X-Original-Message-ID") below the header
 * block of the bounce itself. An independent, simpler reading than the
 * classifier's, to say whether an ID was there to find. */
static GPtrArray *carried_ids(const char *raw)
{
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GRegex) re = g_regex_new(
	    "^[ \\t>]*(?:[a-z-]*-)?message-id:[ \\t]*(?:\\r?\\n?[ \\t]+)?<([^>\\r\\n]+)>",
	    G_REGEX_CASELESS | G_REGEX_MULTILINE | G_REGEX_NEWLINE_ANYCRLF, 0, NULL);
	const char *body = strstr(raw, "\n\n");
	const char *body_crlf = strstr(raw, "\r\n\r\n");
	const char *body_cr = strstr(raw, "\r\r");
	if (body == NULL || (body_crlf != NULL && body_crlf < body))
		body = body_crlf;
	if (body == NULL || (body_cr != NULL && body_cr < body))
		body = body_cr;
	if (body == NULL)
		return ids;
	g_autoptr(GMatchInfo) match = NULL;
	g_regex_match(re, body, 0, &match);
	while (g_match_info_matches(match)) {
		g_ptr_array_add(ids, g_strstrip(g_match_info_fetch(match, 1)));
		g_match_info_next(match, NULL);
	}
	return ids;
}

typedef struct {
	guint files, bounces, detected, carried, id_found, status_known, status_match;
	guint wrong;          /* non-bounces taken for bounces, auto-replies missed */
	guint mac_raw_parsed; /* bare-CR files detected without conversion */
	guint with_id;        /* detected bounces with any original Message-ID */
} Tally;

static void sisimai_file(const char *dir, const char *folder, const char *name, json_t *all,
                         Tally *t)
{
	g_autofree char *path = g_build_filename(dir, folder, name, NULL);
	g_autofree char *raw = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(path, &raw, &len, NULL));
	if (strcmp(folder, "maildir-mac") == 0) {
		/* Bare CR line ends: neither dk_message_parse nor GMime reads
		 * them (the normaliser's business); count how many parse raw,
		 * then classify with LF line ends. */
		g_autoptr(DkMessage) as_is = classify(raw, len);
		t->mac_raw_parsed += as_is != NULL && as_is->classification.bounce != NULL;
		for (gsize i = 0; i < len; i++)
			if (raw[i] == '\r')
				raw[i] = '\n';
	}
	g_autoptr(DkMessage) m = classify(raw, len);
	Want want = sisimai_want(folder, name, all);
	const DkBounce *b = m ? m->classification.bounce : NULL;
	t->files++;
	if (strcmp(name, "rb-issue-368-bug.eml") == 0) {
		/* Filed under not-bounce/ because sisimai cannot decode it, but
		 * it is a postmaster's report (null Return-Path, "your message
		 * was rejected ... reject reason: Mailbox full") of a failed
		 * delivery: docket calls it a bounce on purpose. */
		printf("DISAGREE %s/%s: a bounce in content; classified as one (bounce=%s)\n",
		       folder, name, b ? "yes" : "no");
		return;
	}
	if (want != WANT_BOUNCE) {
		gboolean ok =
		    b == NULL && (want != WANT_AUTO_REPLY || m->classification.auto_reply);
		if (!ok) {
			t->wrong++;
			printf("WRONG %s/%s: bounce=%s auto_reply=%d\n", folder, name,
			       b ? "yes" : "no", m ? m->classification.auto_reply : -1);
		}
		return;
	}
	t->bounces++;
	if (b == NULL) {
		printf("MISS %s/%s: not detected%s\n", folder, name, m ? "" : " (does not parse)");
		return;
	}
	t->detected++;
	t->with_id += b->original_message_id != NULL;
	g_autoptr(GPtrArray) ids = carried_ids(raw);
	if (ids->len > 0) {
		t->carried++;
		gboolean found = FALSE;
		for (guint i = 0; i < ids->len && b->original_message_id; i++)
			found =
			    found || strcmp(g_ptr_array_index(ids, i), b->original_message_id) == 0;
		t->id_found += found;
		if (!found)
			printf("NOID %s/%s: carries <%s>, got %s\n", folder, name,
			       (char *)g_ptr_array_index(ids, 0),
			       b->original_message_id ? b->original_message_id : "(none)");
	}
	json_t *first =
	    json_array_get(json_object_get(json_object_get(all, name), "recipients"), 0);
	const char *status = json_string_value(json_object_get(first, "status"));
	/* Only codes the message states: sisimai also infers its own. */
	if (status != NULL && *status != '\0' && strstr(raw, status) != NULL) {
		t->status_known++;
		t->status_match += g_strcmp0(status, b->status) == 0;
		if (g_getenv("DOCKET_TEST_VERBOSE") != NULL && g_strcmp0(status, b->status) != 0)
			printf("STATUS %s/%s: sisimai %s, docket %s\n", folder, name, status,
			       b->status ? b->status : "(none)");
	}
}

static void test_sisimai(void **state)
{
	(void)state;
	g_autofree char *dir = dk_test_shared_path("corpus/sisimai");
	g_autofree char *json_path = g_build_filename(dir, "expectations.json", NULL);
	json_error_t jerr;
	json_t *root = json_load_file(json_path, 0, &jerr);
	assert_non_null(root);
	json_t *all = json_object_get(root, "expectations");
	const char *folders[] = {"maildir-bsd", "maildir-dos", "maildir-mac", "not-bounce"};
	Tally t = {0};
	for (guint f = 0; f < G_N_ELEMENTS(folders); f++) {
		g_autofree char *sub = g_build_filename(dir, folders[f], NULL);
		g_autoptr(GDir) d = g_dir_open(sub, 0, NULL);
		assert_non_null(d);
		g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
		const char *name;
		while ((name = g_dir_read_name(d)) != NULL)
			if (g_str_has_suffix(name, ".eml"))
				g_ptr_array_add(names, g_strdup(name));
		g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
		for (guint i = 0; i < names->len; i++)
			sisimai_file(dir, folders[f], g_ptr_array_index(names, i), all, &t);
	}
	json_decref(root);
	double detect = t.bounces ? 100.0 * t.detected / t.bounces : 0;
	double ids = t.carried ? 100.0 * t.id_found / t.carried : 0;
	printf("sisimai: %u files, %u bounces, detected %u (%.1f%%)\n", t.files, t.bounces,
	       t.detected, detect);
	printf("sisimai: original Message-ID found %u of %u detected bounces that carry one "
	       "(%.1f%%)\n",
	       t.id_found, t.carried, ids);
	printf("sisimai: detected bounces with an original Message-ID at all: %u of %u\n",
	       t.with_id, t.detected);
	printf("sisimai: status equal to sisimai's %u of %u (where the message states that code)\n",
	       t.status_match, t.status_known);
	printf("sisimai: maildir-mac bounces detected before bare CR became LF: %u\n",
	       t.mac_raw_parsed);
	printf("sisimai: non-bounces taken for bounces or auto-replies missed: %u\n", t.wrong);
	assert_true(t.files >= 261);
	assert_true(detect >= 95.0);
	assert_true(ids >= 90.0);
	assert_int_equal(t.wrong, 0);
}

int main(void)
{
	g_mime_init();
	const struct CMUnitTest unit[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_no_gmime_message),
	    cmocka_unit_test(test_bounded),
	};
	int failed = cmocka_run_group_tests_name("classify", unit, NULL, NULL);
	if (failed != 0)
		return failed;
	g_autofree char *dir = dk_test_shared_path("corpus/sisimai");
	if (dir == NULL) {
		printf("shared corpus absent: sisimai bounce set skipped\n");
		return DK_TEST_SKIP;
	}
	const struct CMUnitTest corpus[] = {
	    cmocka_unit_test(test_sisimai),
	};
	return cmocka_run_group_tests_name("classify-sisimai", corpus, NULL, NULL);
}
