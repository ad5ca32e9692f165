/* Helpers shared by the rules tests: compile a script, run it over a
 * message given as text, and summarise the actions as one string. */
#pragma once

#include <glib.h>
#include <string.h>

#include "rules/sieve.h"

/* The default test message (RFC 5228 examples use similar ones). */
#define DK_SIEVE_TEST_MESSAGE                                                                      \
	"Return-Path: <sender@example.com>\r\n"                                                    \
	"Date: Tue, 10 Aug 2004 14:15:16 -0700\r\n"                                                \
	"From: \"Joe Sender\" <joe+lists@Example.COM>\r\n"                                         \
	"To: Alice <alice@example.org>, bob@example.net\r\n"                                       \
	"Cc: carol@example.org\r\n"                                                                \
	"Subject: [acme-users] [fwd] version 1.0 is out\r\n"                                       \
	"List-ID: Acme users <acme-users.lists.example.com>\r\n"                                   \
	"X-Priority: 2\r\n"                                                                        \
	"X-Priority: 5\r\n"                                                                        \
	"Message-ID: <m1@example.com>\r\n"                                                         \
	"\r\n"                                                                                     \
	"Hello,\r\nthe server web01 is DOWN since 10:00.\r\n"

typedef struct {
	const char *envelope_from;
	const char *envelope_to;
	const DkSieveTicket *ticket;
	gint64 now;
} DkSieveTestEnv;

static inline DkMessage *dk_sieve_test_message(const char *text)
{
	g_autoptr(GBytes) raw = g_bytes_new_static(text, strlen(text));
	g_autoptr(GError) error = NULL;
	DkMessage *m = dk_message_parse(raw, NULL, &error);
	g_assert_no_error(error);
	return m;
}

/* One action as "type:value", with " name", " [flags]" and " copy". */
static inline void dk_sieve_test_describe(GString *s, const DkSieveAction *a)
{
	if (a->implicit)
		g_string_append(s, "implicit-");
	g_string_append(s, dk_sieve_action_type_name(a->type));
	if (a->name)
		g_string_append_printf(s, ":%s", a->name);
	if (a->value)
		g_string_append_printf(s, ":%s", a->value);
	if (a->flags && a->flags->len > 0) {
		g_string_append(s, " [");
		for (guint k = 0; k < a->flags->len; k++)
			g_string_append_printf(s, "%s%s", k ? " " : "",
			                       (const char *)g_ptr_array_index(a->flags, k));
		g_string_append(s, "]");
	}
	if (a->copy)
		g_string_append(s, " copy");
}

/* Runs source over message text; returns the actions joined by "; ", or
 * "COMPILE: <error>" / "ERROR: <error>". The caller frees. */
static inline char *dk_sieve_test_run(const char *source, const char *message,
                                      const DkSieveTestEnv *env)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkSieveScript) script = dk_sieve_compile(source, -1, NULL, &error);
	if (script == NULL)
		return g_strdup_printf("COMPILE: %s", error->message);
	g_autoptr(DkMessage) m = dk_sieve_test_message(message ? message : DK_SIEVE_TEST_MESSAGE);
	DkSieveTestEnv none = {0};
	if (env == NULL)
		env = &none;
	DkSieveInput in = {
	    .message = m,
	    .size = strlen(message ? message : DK_SIEVE_TEST_MESSAGE),
	    .envelope_from = env->envelope_from,
	    .envelope_to = env->envelope_to,
	    .ticket = env->ticket,
	    .now = env->now,
	};
	g_autoptr(DkSieveResult) r = dk_sieve_execute(script, &in);
	if (r->error)
		return g_strdup_printf("ERROR: %s", r->error);
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < r->actions->len; i++) {
		if (i > 0)
			g_string_append(s, "; ");
		dk_sieve_test_describe(s, g_ptr_array_index(r->actions, i));
	}
	return g_string_free(s, FALSE);
}
