/* `docket parse`: prints how docket reads a message, as text or JSON. */
#include "gateway/cli/cmd-parse.h"

#include "gateway/cli/cli.h"
#include "gateway/store/store-file.h"
#include "gateway/core/crypto.h"
#include "parsers/message.h"

#include <jansson.h>
#include <stdio.h>

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *address_json(const DkAddress *a)
{
	if (a == NULL)
		return json_null();
	return json_pack("{s:o, s:s}", "name", str_or_null(a->name), "address", a->address);
}

static json_t *addresses_json(const GPtrArray *list)
{
	json_t *arr = json_array();
	for (guint i = 0; i < list->len; i++)
		json_array_append_new(arr, address_json(g_ptr_array_index(list, i)));
	return arr;
}

static json_t *strings_json(const GPtrArray *list)
{
	json_t *arr = json_array();
	for (guint i = 0; i < list->len; i++)
		json_array_append_new(arr, json_string(g_ptr_array_index(list, i)));
	return arr;
}

static json_t *attachments_json(const GPtrArray *list)
{
	json_t *arr = json_array();
	for (guint i = 0; i < list->len; i++) {
		const DkAttachment *a = g_ptr_array_index(list, i);
		json_array_append_new(
		    arr, json_pack(
		             "{s:o, s:b, s:s, s:I, s:o, s:o, s:s}", "filename",
		             str_or_null(a->filename), "filename_generated", a->filename_generated,
		             "content_type", a->content_type, "size", (json_int_t)a->size, "sha256",
		             a->sha256[0] ? json_string(a->sha256) : json_null(), "content_id",
		             str_or_null(a->content_id), "disposition", a->disposition));
	}
	return arr;
}

static json_t *classification_json(const DkClassification *c)
{
	json_t *bounce = json_null();
	if (c->bounce != NULL)
		bounce =
		    json_pack("{s:o, s:o, s:o}", "recipient", str_or_null(c->bounce->recipient),
		              "status", str_or_null(c->bounce->status), "original_message_id",
		              str_or_null(c->bounce->original_message_id));
	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:o}", "auto_reply", c->auto_reply,
	                 "auto_generated", c->auto_generated, "bulk", c->bulk, "spam", c->spam,
	                 "loop", c->loop, "bounce", bounce);
}

/* ISO 8601 in the zone the Date header gave. */
static char *format_date(const DkMessage *m)
{
	g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(m->date);
	if (utc == NULL)
		return g_strdup("");
	g_autoptr(GTimeZone) tz = g_time_zone_new_offset(m->date_offset * 60);
	g_autoptr(GDateTime) local = g_date_time_to_timezone(utc, tz);
	return g_date_time_format(local ? local : utc, "%Y-%m-%dT%H:%M:%S%:z");
}

static json_t *message_json(const DkMessage *m)
{
	g_autofree char *date = format_date(m);
	json_t *o = json_object();
	json_object_set_new(o, "message_id", json_string(m->message_id));
	json_object_set_new(o, "in_reply_to", str_or_null(m->in_reply_to));
	json_object_set_new(o, "references", strings_json(m->references));
	json_object_set_new(o, "from", address_json(m->from));
	json_object_set_new(o, "reply_to", address_json(m->reply_to));
	json_object_set_new(o, "to", addresses_json(m->to));
	json_object_set_new(o, "cc", addresses_json(m->cc));
	json_object_set_new(o, "subject", json_string(m->subject));
	json_object_set_new(o, "date", json_string(date));
	json_object_set_new(o, "text", json_string(m->text));
	json_object_set_new(o, "new_text", json_string(m->new_text));
	json_object_set_new(o, "quoted_text", json_string(m->quoted_text));
	json_object_set_new(o, "html", json_boolean(m->html));
	json_object_set_new(o, "attachments", attachments_json(m->attachments));
	json_object_set_new(o, "classification", classification_json(&m->classification));
	json_object_set_new(o, "errors", strings_json(m->errors));
	json_object_set_new(o, "crypto", dk_crypto_json(&m->crypto));
	json_object_set_new(o, "from_repaired", json_boolean(m->from_repaired));
	json_object_set_new(o, "repairs", strings_json(m->repairs));
	return o;
}

static void print_address_line(const char *label, const DkAddress *a)
{
	if (a == NULL)
		return;
	if (a->name)
		printf("%-12s %s <%s>\n", label, a->name, a->address);
	else
		printf("%-12s %s\n", label, a->address);
}

static void print_addresses(const char *label, const GPtrArray *list)
{
	for (guint i = 0; i < list->len; i++)
		print_address_line(i == 0 ? label : "", g_ptr_array_index(list, i));
}

static void print_flags(const DkClassification *c)
{
	printf("%-12s auto-reply=%s auto-generated=%s bulk=%s spam=%s loop=%s bounce=%s\n",
	       "Class:", c->auto_reply ? "yes" : "no", c->auto_generated ? "yes" : "no",
	       c->bulk ? "yes" : "no", c->spam ? "yes" : "no", c->loop ? "yes" : "no",
	       c->bounce ? "yes" : "no");
	if (c->bounce != NULL)
		printf("%-12s recipient=%s status=%s original=%s\n",
		       "Bounce:", c->bounce->recipient ? c->bounce->recipient : "-",
		       c->bounce->status ? c->bounce->status : "-",
		       c->bounce->original_message_id ? c->bounce->original_message_id : "-");
}

static void print_text(const DkMessage *m)
{
	g_autofree char *date = format_date(m);
	printf("%-12s %s%s\n", "Message-ID:", m->message_id,
	       m->message_id_synthetic ? " (made up)" : "");
	if (m->in_reply_to)
		printf("%-12s %s\n", "In-Reply-To:", m->in_reply_to);
	for (guint i = 0; i < m->references->len; i++)
		printf("%-12s %s\n", i == 0 ? "References:" : "",
		       (char *)g_ptr_array_index(m->references, i));
	print_address_line("From:", m->from);
	print_address_line("Reply-To:", m->reply_to);
	print_addresses("To:", m->to);
	print_addresses("Cc:", m->cc);
	printf("%-12s %s\n", "Subject:", m->subject);
	printf("%-12s %s%s\n", "Date:", date,
	       m->date_missing ? " (missing or absurd: arrival time)" : "");
	printf("%-12s %s\n", "Text from:", m->html ? "HTML" : "plain text");
	print_flags(&m->classification);
	for (guint i = 0; i < m->attachments->len; i++) {
		const DkAttachment *a = g_ptr_array_index(m->attachments, i);
		printf("%-12s %s%s  %s  %" G_GSIZE_FORMAT " bytes  %s%s%s\n",
		       i == 0 ? "Attachments:" : "", a->filename ? a->filename : "(no name)",
		       a->filename_generated ? " (name made by docket)" : "", a->content_type,
		       a->size, a->disposition, a->content_id ? "  cid:" : "",
		       a->content_id ? a->content_id : "");
	}
	for (guint i = 0; i < m->errors->len; i++)
		printf("%-12s %s\n", i == 0 ? "Errors:" : "",
		       (char *)g_ptr_array_index(m->errors, i));
	for (guint i = 0; i < m->repairs->len; i++)
		printf("%-12s %s\n", i == 0 ? "Repaired:" : "",
		       (char *)g_ptr_array_index(m->repairs, i));
	printf("\n--- new text ---\n%s\n", m->new_text);
	if (*m->quoted_text)
		printf("\n--- quoted text ---\n%s\n", m->quoted_text);
	printf("\n--- full text ---\n%s\n", m->text);
}

static int temporary_file(gpointer data)
{
	(void)data;
	return dk_store_file_temporary("parse");
}

int dk_cmd_parse(int argc, char **argv)
{
	gboolean as_json = FALSE;
	g_autofree char *fallback = NULL;
	GOptionEntry entries[] = {
	    {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the message as JSON", NULL},
	    {"fallback-charset", 0, 0, G_OPTION_ARG_STRING, &fallback,
	     "Charset of undeclared 8-bit text (default windows-1252)", "CHARSET"},
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx =
	    g_option_context_new("FILE.eml - show how docket reads a message");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx, "FILE may be - for standard input.");
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc != 2) {
		fprintf(stderr, "docket parse: %s\n", error ? error->message : "expected one FILE");
		return DK_EXIT_USAGE;
	}
	g_autoptr(GBytes) raw = NULL;
	if (g_strcmp0(argv[1], "-") == 0) {
		g_autoptr(GIOChannel) in = g_io_channel_unix_new(0);
		g_autofree char *data = NULL;
		gsize len = 0;
		g_io_channel_set_encoding(in, NULL, NULL);
		if (g_io_channel_read_to_end(in, &data, &len, &error) == G_IO_STATUS_NORMAL)
			raw = g_bytes_new_take(g_steal_pointer(&data), len);
	} else {
		g_autoptr(GMappedFile) file = g_mapped_file_new(argv[1], FALSE, &error);
		if (file != NULL)
			raw = g_mapped_file_get_bytes(file);
	}
	if (raw == NULL) {
		fprintf(stderr, "docket parse: %s\n", error->message);
		return DK_EXIT_DATAERR;
	}
	/* a large attachment decoded into a temporary file, as the pipeline
	 * does, not memory */
	DkParseOptions options = {.fallback_charset = fallback, .spill = temporary_file};
	g_autoptr(DkMessage) m = dk_message_parse(raw, &options, &error);
	if (m == NULL) {
		fprintf(stderr, "docket parse: %s: %s\n", argv[1], error->message);
		return DK_EXIT_DATAERR;
	}
	if (as_json) {
		json_t *o = message_json(m);
		json_dumpf(o, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(o);
	} else {
		print_text(m);
	}
	return DK_EXIT_OK;
}
