/* Tests for parsers/message: one rule per test, on small inline messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parsers/attachment.h"
#include "parsers/message.h"

#include <string.h>

static DkMessage *parse_with(const char *raw, const DkParseOptions *o)
{
	g_autoptr(GBytes) b = g_bytes_new(raw, strlen(raw));
	g_autoptr(GError) error = NULL;
	DkMessage *m = dk_message_parse(b, o, &error);
	if (m == NULL)
		fail_msg("parse failed: %s", error->message);
	return m;
}

static DkMessage *parse(const char *raw)
{
	DkParseOptions o = {.arrival_time = 1700000000};
	return parse_with(raw, &o);
}

static gboolean has_error(const DkMessage *m, const char *needle)
{
	for (guint i = 0; i < m->errors->len; i++)
		if (strstr(g_ptr_array_index(m->errors, i), needle) != NULL)
			return TRUE;
	return FALSE;
}

static const DkAttachment *attachment(const DkMessage *m, guint i)
{
	assert_true(i < m->attachments->len);
	return g_ptr_array_index(m->attachments, i);
}

/* ---- headers ---- */

static void test_rfc2047_subject(void **state)
{
	(void)state;
	static const struct {
		const char *header;
		const char *subject;
	} cases[] = {
	    {"=?utf-8?q?caf=C3=A9?=", "café"},
	    {"=?ISO-8859-1?B?SGV2YXJk?= =?ISO-8859-1?Q?_H=E5vard?=", "Hevard Håvard"},
	    {"=?utf-8?q?split_=C3?= =?utf-8?q?=A9_char?=", "split é char"}, /* split sequence */
	    {"=?utf-8?B?w6k?=", "é"},                                       /* lost padding */
	    {"pre=?utf-8?q?mid?=post", "premidpost"},                       /* inside a word */
	    {"=?utf-8?q?with space?=", "with space"},                       /* space inside */
	    {"=?koi8-r?B?1MXT1A==?=", "тест"},
	    {"=?iso-2022-jp?B?GyRCRnxLXBsoQg==?=", "日本"},
	    {"=?unknown?q?plain?=", "plain"},
	    {"=?iso-8859-1?q?=93quoted=94_it=92s?=",
	     "\u201cquoted\u201d it\u2019s"},     /* windows-1252 */
	    {"=?us-ascii?q?caf=C3=A9?=", "café"}, /* really UTF-8 */
	    {"=?iso-8859-1?B?Y2Fmw6k=?=", "café"},
	    {"=?gb2312?B?xOO6ww==?=", "你好"},
	    {"=?utf-8*en?q?lang?=", "lang"},
	    {"raw caf\xc3\xa9 utf8", "raw café utf8"},
	    {"raw caf\xe9 latin", "raw café latin"},
	    {"test\r\n \r\n", "test"}, /* whitespace-only folded line */
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *raw = g_strdup_printf(
		    "From: a@b.example\r\nSubject: %s\r\n\r\nbody\r\n", cases[i].header);
		g_autoptr(DkMessage) m = parse(raw);
		if (strcmp(m->subject, cases[i].subject) != 0)
			fail_msg("case %u: got \"%s\"", i, m->subject);
	}
}

static void test_fallback_charset_for_raw_headers(void **state)
{
	(void)state;
	DkParseOptions o = {.fallback_charset = "koi8-r"};
	g_autoptr(DkMessage) m = parse_with("Subject: \xd4\xc5\xd3\xd4\n\nx\n", &o);
	assert_string_equal(m->subject, "тест");
}

static void test_addresses(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m =
	    parse("From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <Joerg@Example.COM>\n"
	          "Reply-To: \"Help, Desk\" <help@EXAMPLE.org>\n"
	          "To: a@x.example, team: b@y.example, \"C\" <c@Z.example>;, <D@W.EXAMPLE>\n"
	          "Cc: broken <,  e@v.example\n"
	          "\nbody\n");
	assert_string_equal(m->from->name, "Jörg Müller");
	assert_string_equal(m->from->address, "Joerg@example.com");
	assert_string_equal(m->reply_to->name, "Help, Desk");
	assert_string_equal(m->reply_to->address, "help@example.org");
	assert_int_equal(m->to->len, 4);
	const DkAddress *c = g_ptr_array_index(m->to, 2);
	assert_string_equal(c->name, "C");
	assert_string_equal(c->address, "c@z.example");
	assert_string_equal(((DkAddress *)g_ptr_array_index(m->to, 3))->address, "D@w.example");
	gboolean found = FALSE;
	for (guint i = 0; i < m->cc->len; i++)
		found |=
		    strcmp(((DkAddress *)g_ptr_array_index(m->cc, i))->address, "e@v.example") == 0;
	assert_true(found);
}

static void test_from_falls_back_to_sender(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse("From: undisclosed\nSender: s@x.example\n\nb\n");
	assert_non_null(m->from);
}

static void test_date_with_zone(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse("Date: Tue, 14 Nov 2023 10:00:00 +0530\nSubject: x\n\nb\n");
	assert_false(m->date_missing);
	assert_int_equal(m->date, 1699936200);
	assert_int_equal(m->date_offset, 330);
}

static void test_date_missing_or_absurd(void **state)
{
	(void)state;
	static const char *const raws[] = {
	    "Subject: no date\n\nb\n",
	    "Date: not a date at all\n\nb\n",
	    "Date: Thu, 1 Jan 1970 00:00:00 +0000\n\nb\n",
	    "Date: Sat, 1 Jan 2050 00:00:00 +0000\n\nb\n",
	};
	for (guint i = 0; i < G_N_ELEMENTS(raws); i++) {
		g_autoptr(DkMessage) m = parse(raws[i]);
		assert_true(m->date_missing);
		assert_int_equal(m->date, 1700000000);
	}
}

static void test_ids_cleaned(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m =
	    parse("Message-ID:  < abc@x.example >\n"
	          "In-Reply-To: <p1@x.example> (sent by someone)\n"
	          "References: <r1@x.example>\n <r2@x.example> garbage <r1@x.example>\n"
	          "\t<abc@x.example> <r3@\n x.example>\n"
	          "\nb\n");
	assert_string_equal(m->message_id, "abc@x.example");
	assert_false(m->message_id_synthetic);
	assert_string_equal(m->in_reply_to, "p1@x.example");
	assert_int_equal(m->references->len, 3);
	assert_string_equal(g_ptr_array_index(m->references, 0), "r1@x.example");
	assert_string_equal(g_ptr_array_index(m->references, 1), "r2@x.example");
	assert_string_equal(g_ptr_array_index(m->references, 2), "r3@x.example");
}

static void test_missing_message_id_is_synthetic(void **state)
{
	(void)state;
	g_autoptr(DkMessage) a = parse("Subject: x\n\nbody\n");
	g_autoptr(DkMessage) b = parse("Received: from somewhere\nSubject: x\n\nbody\n");
	assert_true(a->message_id_synthetic);
	assert_string_equal(a->message_id, b->message_id); /* same mail, other route */
	assert_string_equal(a->fingerprint, b->fingerprint);
}

static void test_headers_table(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m =
	    parse("X-Thing: =?utf-8?q?one_=C3=A9?=\nX-THING: two\nSubject: s\n\nb\n");
	const GPtrArray *all = dk_message_header_all(m, "x-thing");
	assert_non_null(all);
	assert_int_equal(all->len, 2);
	assert_string_equal(dk_message_header(m, "X-Thing"), "one é");
	assert_null(dk_message_header(m, "absent"));
}

static void test_not_mail(void **state)
{
	(void)state;
	static const char elf[] = {0x7f, 'E', 'L', 'F', 0x01, 0x02, 0};
	static const char *const inputs[] = {"", "just some text\nwithout headers\n", elf};
	for (guint i = 0; i < G_N_ELEMENTS(inputs); i++) {
		g_autoptr(GBytes) b = g_bytes_new(inputs[i], strlen(inputs[i]));
		g_autoptr(GError) error = NULL;
		g_autoptr(DkMessage) m = dk_message_parse(b, NULL, &error);
		assert_null(m);
		assert_true(g_error_matches(error, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL));
	}
}

static void test_bare_cr_lines(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse("Subject: mac\rFrom: a@b.example\r\rold mac body\r");
	assert_string_equal(m->subject, "mac");
	assert_string_equal(m->text, "old mac body\n");
}

/* ---- body ---- */

#define ALT(plain, html)                                                                           \
	"Subject: alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n"     \
	"--b\nContent-Type: text/plain; charset=utf-8\n\n" plain "\n"                              \
	"--b\nContent-Type: text/html; charset=utf-8\n\n" html "\n--b--\n"

static void test_alternative_prefers_plain(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse(ALT("the plain text", "<p>the <b>html</b></p>"));
	assert_string_equal(m->text, "the plain text");
	assert_false(m->html);
	assert_int_equal(m->attachments->len, 0);
}

static void test_alternative_empty_plain_takes_html(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse(ALT("  \n ", "<p>the <b>html</b></p>"));
	assert_string_equal(m->text, "the html");
	assert_true(m->html);
}

static void test_html_only(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse(
	    "Content-Type: text/html; charset=iso-8859-1\n\n"
	    "<html><head><style>x{}</style></head><body><p>Gr\xfc\xdf"
	    "e</p><ul><li>eins</li></ul><a href=\"https://x.example/\">hier</a></body></html>\n");
	assert_true(m->html);
	assert_string_equal(m->text, "Grüße\n\n- eins\n\nhier <https://x.example/>");
}

static void test_html_meta_charset(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m =
	    parse("Content-Type: text/html\n\n<meta charset=\"koi8-r\"><p>\xd4\xc5\xd3\xd4</p>\n");
	assert_string_equal(m->text, "тест");
	/* the MIME label wins over a contradicting meta, once converted */
	g_autoptr(DkMessage) n = parse("Content-Type: text/html; charset=utf-8\n\n"
	                               "<meta charset=\"windows-1252\"><p>Gr\xc3\xbc\xc3\x9f"
	                               "e</p>\n");
	assert_string_equal(n->text, "Grüße");
}

static void test_html_quote_split(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m =
	    parse(ALT("", "<div>My answer</div><div class=\"gmail_quote\">On Mon, X wrote:"
	                  "<blockquote>the question</blockquote></div>"));
	assert_string_equal(m->new_text, "My answer");
	assert_string_equal(m->quoted_text, "On Mon, X wrote:\nthe question");
	assert_non_null(strstr(m->text, "the question"));
}

static void test_related_and_mixed(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m =
	    parse("Subject: r\nContent-Type: multipart/mixed; boundary=o\n\n"
	          "--o\nContent-Type: multipart/related; boundary=r\n\n"
	          "--r\nContent-Type: text/html\n\n<p>see <img src=\"cid:img1@x\"></p>\n"
	          "--r\nContent-Type: image/png\nContent-ID: <img1@x>\nContent-Transfer-Encoding: "
	          "base64\n\naGVsbG8=\n"
	          "--r--\n"
	          "--o\nContent-Type: text/plain\n\nsecond inline part\n"
	          "--o\nContent-Type: application/pdf; name=\"doc.pdf\"\nContent-Disposition: "
	          "attachment\n"
	          "Content-Transfer-Encoding: base64\n\nJVBERg==\n"
	          "--o--\n");
	assert_string_equal(m->text, "see\n\nsecond inline part");
	assert_int_equal(m->attachments->len, 2);
	const DkAttachment *img = attachment(m, 0);
	assert_string_equal(img->content_type, "image/png");
	assert_string_equal(img->content_id, "img1@x");
	assert_string_equal(img->disposition, "inline");
	assert_int_equal(img->size, 5);
	assert_string_equal(img->sha256,
	                    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	const DkAttachment *pdf = attachment(m, 1);
	assert_string_equal(pdf->filename, "doc.pdf");
	assert_string_equal(pdf->disposition, "attachment");
	assert_int_equal(g_bytes_get_size(pdf->data), 4);
}

static void test_mislabelled_body(void **state)
{
	(void)state;
	g_autoptr(DkMessage) a =
	    parse("Content-Type: text/plain; charset=us-ascii\n\ncaf\xc3\xa9\n");
	assert_string_equal(a->text, "café\n");
	g_autoptr(DkMessage) b =
	    parse("Content-Type: text/plain; charset=iso-8859-1\n\n\x93hi\x94\n");
	assert_string_equal(b->text, "\u201chi\u201d\n");
	g_autoptr(DkMessage) c = parse("Content-Type: text/plain; charset=shift_jis\n"
	                               "Content-Transfer-Encoding: base64\n\nk/qWew==\n");
	assert_string_equal(c->text, "日本");
}

static void test_invalid_bytes_replaced_not_truncated(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m =
	    parse("Content-Type: text/plain; charset=utf-8\n\n\xc3\xa9 bad \xff\xfe and\0 more\n");
	assert_string_equal(m->text, "é bad \xef\xbf\xbd\xef\xbf\xbd and");
	assert_true(has_error(m, "replaced"));
}

static void test_flowed(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse("Content-Type: text/plain; format=flowed\n\n"
	                               "a long line \nthat goes on\n>quoted \n>more\n-- \nsig\n");
	assert_string_equal(m->text, "a long line that goes on\n>quoted \n>more\n-- \nsig\n");
}

static void test_crlf_normalised(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse("Subject: c\r\n\r\none\r\ntwo\r\n");
	assert_string_equal(m->text, "one\ntwo\n");
	assert_string_equal(m->new_text, "one\ntwo");
}

/* ---- attachments ---- */

static void test_filename_decoding(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse(
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n"
	    "--b\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename*0*=utf-8''%E6%96%B0%E3%81%97;\n "
	    "filename*1*=%E3%81%84.txt\n\nx\n"
	    "--b\nContent-Type: application/octet-stream; "
	    "name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\n\nx\n"
	    "--b\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename=\"../../etc/passwd\"\n\nx\n"
	    "--b\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename=\"..\\\\..\\\\boot.ini\"\n\nx\n"
	    "--b\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename=\"...hidden\"\n\nx\n"
	    "--b\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename=\"=?utf-8?q?evil=E2=80=AEfdp.exe?=\"\n\nx\n"
	    "--b--\n");
	assert_int_equal(m->attachments->len, 6);
	assert_string_equal(attachment(m, 0)->filename, "新しい.txt");
	assert_string_equal(attachment(m, 1)->filename, "résumé.pdf");
	/* Kept as sent, but for the direction override; made safe only
	 * where a name becomes a file. */
	static const char *const sent[] = {"../../etc/passwd", "..\\..\\boot.ini", "...hidden",
	                                   "evil_fdp.exe"};
	static const char *const safe[] = {"passwd", "boot.ini", "hidden", "evil_fdp.exe"};
	for (guint i = 0; i < G_N_ELEMENTS(sent); i++) {
		const DkAttachment *a = attachment(m, i + 2);
		assert_string_equal(a->filename, sent[i]);
		assert_false(a->filename_generated);
		g_autofree char *file = dk_attachment_safe_filename(a->filename);
		assert_string_equal(file, safe[i]);
	}
}

static void test_attached_message(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse("Subject: fwd\nContent-Type: multipart/mixed; boundary=b\n\n"
	                               "--b\nContent-Type: text/plain\n\nsee attached\n"
	                               "--b\nContent-Type: message/rfc822\n\n"
	                               "From: Inner Person <Inner@Example.NET>\nSubject: "
	                               "=?utf-8?q?Inner_=C3=A9?=\n\ninner body\n"
	                               "--b--\n");
	assert_string_equal(m->text, "see attached");
	assert_int_equal(m->attachments->len, 1);
	const DkAttachment *a = attachment(m, 0);
	assert_string_equal(a->content_type, "message/rfc822");
	assert_string_equal(a->filename, "Inner é.eml");
	assert_string_equal(a->message_subject, "Inner é");
	assert_string_equal(a->message_from->address, "Inner@example.net");
	static const char inner[] = "From: Inner Person <Inner@Example.NET>\nSubject: "
	                            "=?utf-8?q?Inner_=C3=A9?=\n\ninner body";
	assert_int_equal(a->size, sizeof inner - 1); /* the original bytes */
	assert_memory_equal(g_bytes_get_data(a->data, NULL), inner, sizeof inner - 1);
}

static void test_attached_text_files_are_attachments(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse(
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nbody\n"
	    "--b\nContent-Type: text/plain; name=log.txt\n\nlog line\n"
	    "--b\nContent-Type: text/csv\nContent-Disposition: inline; filename=a.csv\n\n1,2\n"
	    "--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\nnot body\n"
	    "--b--\n");
	assert_string_equal(m->text, "body");
	assert_int_equal(m->attachments->len, 3);
}

static void test_safe_filename_length(void **state)
{
	(void)state;
	GString *name = g_string_new(NULL);
	for (int i = 0; i < 300; i++)
		g_string_append(name, "é");
	g_string_append(name, ".docx");
	g_autofree char *raw = g_strdup_printf(
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/x\n"
	    "Content-Disposition: attachment; filename=\"%s\"\n\nx\n--b--\n",
	    name->str);
	g_string_free(name, TRUE);
	g_autoptr(DkMessage) m = parse(raw);
	assert_int_equal(strlen(attachment(m, 0)->filename), 300 * 2 + 5); /* as sent */
	g_autofree char *f = dk_attachment_safe_filename(attachment(m, 0)->filename);
	assert_true(strlen(f) <= 200);
	assert_true(g_str_has_suffix(f, "é.docx"));
	assert_true(g_utf8_validate(f, -1, NULL));
}

/* ---- TNEF ---- */

static void tnef_attr(GByteArray *a, guint8 level, guint32 id, const void *data, guint32 len)
{
	guint8 head[9] = {level,    id & 0xFF,  (id >> 8) & 0xFF,  (id >> 16) & 0xFF,
	                  id >> 24, len & 0xFF, (len >> 8) & 0xFF, (len >> 16) & 0xFF,
	                  len >> 24};
	g_byte_array_append(a, head, sizeof head);
	g_byte_array_append(a, data, len);
	guint32 sum = 0;
	for (guint32 i = 0; i < len; i++)
		sum += ((const guint8 *)data)[i];
	guint8 tail[2] = {sum & 0xFF, (sum >> 8) & 0xFF};
	g_byte_array_append(a, tail, 2);
}

/* A winmail.dat with a body and one file, hello.txt, as Outlook writes
 * them ([MS-OXTNEF] 2.1.3), base64-encoded. */
static char *tnef_base64(gboolean damaged)
{
	GByteArray *a = g_byte_array_new();
	static const guint8 head[] = {0x78, 0x9f, 0x3e, 0x22, 0x01, 0x00};
	static const guint8 version[] = {0, 0, 1, 0};
	static const guint8 rend[14] = {1, 0, 0xff, 0xff, 0xff, 0xff};
	g_byte_array_append(a, head, sizeof head);
	tnef_attr(a, 1, 0x00089006, version, 4);
	tnef_attr(a, 1, 0x0002800C, "body in tnef", 12);
	tnef_attr(a, 2, 0x00069002, rend, sizeof rend);
	tnef_attr(a, 2, 0x00018010, "hello.txt", 10);
	tnef_attr(a, 2, 0x0006800F, "hello world", 11);
	if (damaged)
		a->data[a->len - 1] ^= 1; /* the checksum no longer adds up */
	char *b64 = g_base64_encode(a->data, a->len);
	g_byte_array_unref(a);
	return b64;
}

static void test_tnef(void **state)
{
	(void)state;
	g_autofree char *b64 = tnef_base64(FALSE);
	g_autofree char *raw =
	    g_strdup_printf("Subject: t\nContent-Type: multipart/mixed; boundary=b\n\n"
	                    "--b\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\n"
	                    "Content-Transfer-Encoding: base64\n\n%s\n--b--\n",
	                    b64);
	g_autoptr(DkMessage) m = parse(raw);
	assert_int_equal(m->attachments->len, 2);
	assert_string_equal(attachment(m, 0)->filename, "winmail.dat");
	assert_null(attachment(m, 0)->origin);
	const DkAttachment *inner = attachment(m, 1);
	assert_string_equal(inner->filename, "hello.txt");
	assert_string_equal(inner->origin, "winmail.dat");
	assert_int_equal(inner->size, 11);
	assert_memory_equal(g_bytes_get_data(inner->data, NULL), "hello world", 11);
	assert_string_equal(m->text, "body in tnef"); /* no other text: the TNEF body is it */
	assert_int_equal(m->errors->len, 0);
}

static void test_tnef_damaged(void **state)
{
	(void)state;
	g_autofree char *b64 = tnef_base64(TRUE);
	g_autofree char *raw = g_strdup_printf(
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n"
	    "--b\nContent-Type: application/octet-stream; name=\"WINMAIL.DAT\"\n"
	    "Content-Transfer-Encoding: base64\n\n%s\n--b--\n",
	    b64);
	g_autoptr(DkMessage) m = parse(raw);
	assert_int_equal(m->attachments->len, 1); /* the original, kept */
	assert_true(has_error(m, "TNEF"));
	assert_string_equal(m->text, "hi");
}

static void test_uuencoded_in_text(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = parse("Subject: notes\n\nSee the file.\n\nbegin 644 hi.txt\n"
	                               ",:&5L;&\\@=V]R;&0*\n`\nend\nThanks\n");
	assert_string_equal(m->text, "See the file.\n\nThanks\n");
	assert_int_equal(m->attachments->len, 1);
	assert_string_equal(attachment(m, 0)->filename, "hi.txt");
	assert_memory_equal(g_bytes_get_data(attachment(m, 0)->data, NULL), "hello world\n", 12);
	/* not uuencode after all: the text stays */
	g_autoptr(DkMessage) n = parse("Subject: x\n\nbegin 644 plan\nwe start monday\nend\n");
	assert_int_equal(n->attachments->len, 0);
	assert_non_null(strstr(n->text, "we start monday"));
}

/* ---- limits ---- */

static char *nested(int depth)
{
	GString *s = g_string_new("Subject: deep\n");
	for (int i = 0; i < depth; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n",
		                       i, i);
	g_string_append(s, "Content-Type: text/plain\n\ninnermost\n");
	for (int i = depth - 1; i >= 0; i--)
		g_string_append_printf(s, "--b%d--\n", i);
	return g_string_free(s, FALSE);
}

static void test_depth_limit(void **state)
{
	(void)state;
	g_autofree char *raw = nested(10);
	g_autoptr(DkMessage) ok = parse(raw);
	assert_string_equal(ok->text, "innermost");
	DkParseOptions o = {.max_depth = 5};
	g_autoptr(DkMessage) m = parse_with(raw, &o);
	assert_string_equal(m->text, "");
	assert_true(has_error(m, "depth limit of 5"));
}

/* A multipart/mixed of count parts, each written by part_format with its
 * number (a format with one %d). */
static char *many_parts(int count, const char *part_format)
{
	GString *s = g_string_new("Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < count; i++) {
		g_string_append(s, "--b\n");
		g_string_append_printf(s, part_format, i);
	}
	g_string_append(s, "--b--\n");
	return g_string_free(s, FALSE);
}

static void test_part_limit(void **state)
{
	(void)state;
	g_autofree char *raw = many_parts(50, "Content-Type: text/plain\n\npart %d\n");
	DkParseOptions o = {.max_parts = 11};
	g_autoptr(DkMessage) m = parse_with(raw, &o);
	assert_true(has_error(m, "part limit of 11"));
	assert_non_null(strstr(m->text, "part 9"));
	assert_null(strstr(m->text, "part 10"));
}

static void test_many_parts_cut_before_gmime(void **state)
{
	(void)state;
	g_autofree char *raw = many_parts(3000, "\np%d\n");
	DkParseOptions o = {.max_parts = 100};
	g_autoptr(DkMessage) m = parse_with(raw, &o);
	assert_true(has_error(m, "read only up to byte"));
	assert_true(has_error(m, "part limit of 100 reached"));
	assert_non_null(strstr(m->text, "p0"));
}

static void test_decoded_limit(void **state)
{
	(void)state;
	GString *s = g_string_new(
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsmall\n"
	    "--b\nContent-Type: application/octet-stream; name=big.bin\n\n");
	for (int i = 0; i < 2000; i++)
		g_string_append(s, "0123456789\n");
	g_string_append(s, "--b--\n");
	DkParseOptions o = {.max_decoded_bytes = 1000};
	g_autoptr(DkMessage) m = parse_with(s->str, &o);
	g_string_free(s, TRUE);
	assert_string_equal(m->text, "small");
	assert_int_equal(m->attachments->len, 1);
	assert_null(attachment(m, 0)->data);
	assert_string_equal(attachment(m, 0)->filename, "big.bin");
	assert_true(has_error(m, "decoded-size limit"));
}

static void test_header_limit(void **state)
{
	(void)state;
	GString *s = g_string_new(NULL);
	for (int i = 0; i < 200; i++)
		g_string_append(s, "X-Filler: 0123456789012345678901234567890123456789\n");
	g_string_append(s, "\nbody\n");
	DkParseOptions o = {.max_header_bytes = 1024};
	g_autoptr(GBytes) b = g_bytes_new(s->str, s->len);
	g_string_free(s, TRUE);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkMessage) m = dk_message_parse(b, &o, &error);
	assert_null(m);
	assert_true(g_error_matches(error, DK_PARSE_ERROR, DK_PARSE_ERROR_LIMIT));
}

static void test_time_limit(void **state)
{
	(void)state;
	g_autofree char *raw = many_parts(900, "Content-Type: text/html\n\n<p>part %d</p>\n");
	DkParseOptions o = {.max_millis = 1};
	g_autoptr(DkMessage) m = parse_with(raw, &o);
	/* GMime's own parse counts: the walk may stop before the first part */
	assert_true(has_error(m, "time limit of 1 ms"));
	assert_null(strstr(m->text, "part 899"));
}

/* Content-* fields live on GMime's top part; the headers table has them. */
static void test_content_headers_listed(void **state)
{
	g_autoptr(DkMessage) m = parse(
	    "From: a@example.com\nSubject: x\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nhi\n");
	assert_non_null(dk_message_header(m, "Content-Type"));
	assert_non_null(strstr(dk_message_header(m, "content-type"), "text/plain"));
	assert_string_equal(dk_message_header(m, "content-transfer-encoding"), "8bit");
	assert_string_equal(dk_message_header(m, "mime-version"), "1.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_content_headers_listed),
	    cmocka_unit_test(test_rfc2047_subject),
	    cmocka_unit_test(test_fallback_charset_for_raw_headers),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_from_falls_back_to_sender),
	    cmocka_unit_test(test_date_with_zone),
	    cmocka_unit_test(test_date_missing_or_absurd),
	    cmocka_unit_test(test_ids_cleaned),
	    cmocka_unit_test(test_missing_message_id_is_synthetic),
	    cmocka_unit_test(test_headers_table),
	    cmocka_unit_test(test_not_mail),
	    cmocka_unit_test(test_bare_cr_lines),
	    cmocka_unit_test(test_alternative_prefers_plain),
	    cmocka_unit_test(test_alternative_empty_plain_takes_html),
	    cmocka_unit_test(test_html_only),
	    cmocka_unit_test(test_html_meta_charset),
	    cmocka_unit_test(test_html_quote_split),
	    cmocka_unit_test(test_related_and_mixed),
	    cmocka_unit_test(test_mislabelled_body),
	    cmocka_unit_test(test_invalid_bytes_replaced_not_truncated),
	    cmocka_unit_test(test_flowed),
	    cmocka_unit_test(test_crlf_normalised),
	    cmocka_unit_test(test_filename_decoding),
	    cmocka_unit_test(test_attached_message),
	    cmocka_unit_test(test_attached_text_files_are_attachments),
	    cmocka_unit_test(test_safe_filename_length),
	    cmocka_unit_test(test_uuencoded_in_text),
	    cmocka_unit_test(test_tnef),
	    cmocka_unit_test(test_tnef_damaged),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_part_limit),
	    cmocka_unit_test(test_many_parts_cut_before_gmime),
	    cmocka_unit_test(test_decoded_limit),
	    cmocka_unit_test(test_header_limit),
	    cmocka_unit_test(test_time_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
