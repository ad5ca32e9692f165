/* Mail as the world writes it: one table of hand-built cases per class
 * of damage (raw 8-bit headers, ISO-2022-JP vendor extensions, broken
 * senders, encoded-word subjects, unnamed attachments, junk before the
 * header), and the shared corpus's messages of those classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dk-test.h"
#include "parsers/attachment.h"
#include "parsers/message.h"

#include <string.h>

static DkMessage *parse(const char *raw)
{
	g_autoptr(GBytes) b = g_bytes_new(raw, strlen(raw));
	g_autoptr(GError) error = NULL;
	DkParseOptions o = {.arrival_time = 1700000000};
	DkMessage *m = dk_message_parse(b, &o, &error);
	if (m == NULL)
		fail_msg("parse failed: %s", error->message);
	return m;
}

static gboolean has_repair(const DkMessage *m, const char *needle)
{
	for (guint i = 0; i < m->repairs->len; i++)
		if (strstr(g_ptr_array_index(m->repairs, i), needle) != NULL)
			return TRUE;
	return FALSE;
}

static void expect(guint i, const char *what, const char *got, const char *want)
{
	if (g_strcmp0(got, want) != 0)
		fail_msg("case %u: %s \"%s\", want \"%s\"", i, what, got ? got : "(null)",
		         want ? want : "(null)");
}

/* ---- class 1: raw 8-bit header text and undeclared bodies ---- */

typedef struct {
	const char *raw;
	const char *subject, *name, *text, *filename;
} CharsetCase;

static const CharsetCase charset_cases[] = {
    /* GB2312 subject and name; the body declares the charset */
    {"From: \xd5\xc5\xc8\xfd <z@example.cn>\nSubject: \xc4\xe3\xba\xc3\xca\xc0\xbd\xe7\n"
     "Content-Type: text/plain; charset=gb2312\n\n\xc4\xe3\xba\xc3\n",
     "你好世界", "张三", "你好", NULL},
    /* Shift_JIS display name and subject, body declared */
    {"From: \x8e\x52\x93\x63\x91\xbe\x98\x59 <y@example.jp>\n"
     "Subject: \x89\xef\x8b\x63\x82\xcc\x8c\x8f\x82\xc9\x82\xc2\x82\xa2\x82\xc4\n"
     "Content-Type: text/plain; charset=Shift_JIS\n\nok\n",
     "会議の件について", "山田太郎", "ok", NULL},
    /* windows-1251 subject, body declared */
    {"From: a@example.ru\nSubject: \xd1\xf7\xe5\xf2\x20\xed\xe0\x20\xee\xef\xeb\xe0\xf2\xf3\n"
     "Content-Type: text/plain; charset=windows-1251\n\nok\n",
     "Счет на оплату", NULL, "ok", NULL},
    /* KOI8-R subject, no charset anywhere (RT's russian-subject...) */
    {"From: a@example.ru\nSubject: \xd4\xc5\xd3\xd4\x20\xd4\xc5\xd3\xd4\n\nok\n", "тест тест", NULL,
     "ok", NULL},
    /* a plain Latin-1 "äöü" stays Western, not Cyrillic */
    {"From: a@example.de\nSubject: \xe4\xf6\xfc\n\nok\n", "äöü", NULL, "ok", NULL},
    {"From: M\xfcller <m@example.de>\nSubject: Gr\xfc\xdf"
     "e\nContent-Type: text/plain; charset=iso-8859-1\n\nok\n",
     "Grüße", "Müller", "ok", NULL},
    /* a long GB2312 subject without any declaration: the detector */
    {"From: a@example.cn\nSubject: "
     "\xb9\xd8\xd3\xda\xb7\xa2\xc6\xb1\xb5\xc4\xce\xca\xcc\xe2\xa3\xac\xc7\xeb\xbe\xa1\xbf"
     "\xec\xbb\xd8\xb8\xb4\n\nplain body\n",
     "关于发票的问题，请尽快回复", NULL, "plain body", NULL},
    /* a GB2312 attachment name, raw in the parameter */
    {"From: a@example.cn\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n\n"
     "--b\nContent-Type: text/plain; charset=gb2312\n\n\xc4\xe3\xba\xc3\n"
     "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; "
     "filename=\"\xb7\xa2\xc6\xb1\x2e\x70\x64\x66\"\n\n"
     "%PDF\n--b--\n",
     "x", NULL, "你好", "发票.pdf"},
    /* undeclared bodies: GB2312, Shift_JIS under us-ascii, windows-1251 */
    {"From: a@example.cn\nSubject: "
     "x\n\n\xc4\xfa\xba\xc3\xa3\xac\xce\xd2\xc3\xc7\xb5\xc4\xb4\xf2\xd3\xa1\xbb\xfa\xce\xde"
     "\xb7\xa8\xd5\xfd\xb3\xa3\xb9\xa4\xd7\xf7\xa3\xac\xc7\xeb\xb0\xef\xc3\xa6\xbc\xec\xb2\xe9\xd2"
     "\xbb\xcf\xc2\xa1\xa3\n",
     "x", NULL, "您好，我们的打印机无法正常工作，请帮忙检查一下。", NULL},
    {"From: a@example.jp\nSubject: x\nContent-Type: text/plain; charset=us-ascii\n\n"
     "\x82\xa8\x90\xa2\x98\x62\x82\xc9\x82\xc8\x82\xc1\x82\xc4\x82\xa8\x82\xe8\x82\xdc\x82\xb7\x81"
     "\x42\x83\x76\x83\x8a"
     "\x83\x93\x83\x5e\x81\x5b\x82\xaa\x93\xae\x8d\xec\x82\xb5\x82\xdc\x82\xb9\x82\xf1\x81\x42\n",
     "x", NULL, "お世話になっております。プリンターが動作しません。", NULL},
    {"From: a@example.ru\nSubject: "
     "x\n\n\xc7\xe4\xf0\xe0\xe2\xf1\xf2\xe2\xf3\xe9\xf2\xe5\x2c\x20\xef\xf0\xe8\xed\xf2\xe5"
     "\xf0\x20\xed\xe5\x20\xf0\xe0\xe1\xee\xf2\xe0\xe5\xf2\x2c\x20\xef\xf0\xee\xe2\xe5\xf0\xfc\xf2"
     "\xe5\x20\xef\xee\xe6"
     "\xe0\xeb\xf3\xe9\xf1\xf2\xe0\x2e\n",
     "x", NULL, "Здравствуйте, принтер не работает, проверьте пожалуйста.", NULL},
    /* GB2312 under a wrong Latin-1 label */
    {"From: a@example.cn\nSubject: x\nContent-Type: text/plain; charset=iso-8859-1\n\n"
     "\xc4\xfa\xba\xc3\xa3\xac\xce\xd2\xc3\xc7\xb5\xc4\xb4\xf2\xd3\xa1\xbb\xfa\xce\xde"
     "\xb7\xa8\xd5\xfd\xb3\xa3\xb9\xa4\xd7\xf7\xa3\xac\xc7\xeb\xb0\xef\xc3\xa6\xbc\xec\xb2\xe9\xd2"
     "\xbb\xcf\xc2\xa1\xa3\n",
     "x", NULL, "您好，我们的打印机无法正常工作，请帮忙检查一下。", NULL},
    /* German under its proper Latin-1 label stays German */
    {"From: a@example.de\nSubject: x\nContent-Type: text/plain; charset=iso-8859-1\n\n"
     "Gr\xfc\xdf"
     "e aus M\xfcnchen, die Bestellung f\xfcr Herrn M\xfcller ist angekommen.\n",
     "x", NULL, "Grüße aus München, die Bestellung für Herrn Müller ist angekommen.", NULL},
};

static void test_raw_8bit_headers_and_bodies(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(charset_cases); i++) {
		const CharsetCase *c = &charset_cases[i];
		g_autoptr(DkMessage) m = parse(c->raw);
		expect(i, "subject", m->subject, c->subject);
		assert_non_null(m->from);
		expect(i, "name", m->from->name, c->name);
		g_autofree char *text = g_strstrip(g_strdup(m->text));
		expect(i, "text", text, c->text);
		if (c->filename != NULL) {
			assert_int_equal(m->attachments->len, 1);
			expect(i, "filename",
			       ((DkAttachment *)g_ptr_array_index(m->attachments, 0))->filename,
			       c->filename);
		}
	}
}

/* ---- class 2: ISO-2022-JP with the vendor extensions ---- */

static const struct {
	const char *charset, *jis, *utf8;
} jis_cases[] = {
    {"iso-2022-jp", "\x1b$B-!-\"-#\x1b(B", "①②③"}, /* NEC row 13 */
    {"ISO-2022-JP", "\x1b$B-5-6\x1b(B", "ⅠⅡ"},     /* Roman numerals */
    {"iso-2022-jp", "\x1b$B-b-d-j\x1b(B", "№℡㈱"}, /* NEC specials */
    {"iso-2022-jp", "\x1b$By!\x1b(B", "纊"},       /* NEC-selected IBM rows */
    {"cp50221", "\x1b(I\x31\x32\x1b(B", "ｱｲ"},     /* JIS X 0201 katakana */
    {"iso-2022-jp",
     "a\x0e\x31\x0f"
     "b",
     "aｱb"},                                                           /* SO/SI (CP50222) */
    {"iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B, JIS", "こんにちは, JIS"}, /* plain JIS X 0208 */
    {"iso-2022-jp", "\x1b$BF|K\\\x1b(B \x1b.A\x1bN\x69", "日本 é"},    /* ISO-2022-JP-2: glibc */
};

static void test_iso_2022_jp_extensions(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(jis_cases); i++) {
		g_autofree char *raw =
		    g_strdup_printf("From: a@example.jp\nSubject: x\nContent-Type: text/plain; "
		                    "charset=%s\n\n%s\n",
		                    jis_cases[i].charset, jis_cases[i].jis);
		g_autoptr(DkMessage) m = parse(raw);
		g_autofree char *text = g_strstrip(g_strdup(m->text));
		expect(i, "text", text, jis_cases[i].utf8);
	}
	/* the same in an encoded word, in the subject */
	g_autoptr(DkMessage) m =
	    parse("From: a@example.jp\nSubject: =?ISO-2022-JP?B?GyRCLSEtIhsoQg==?= test\n\nx\n");
	assert_string_equal(m->subject, "①② test");
}

/* ---- class 3: broken sender fields ---- */

static const struct {
	const char *from, *address, *name;
	gboolean repaired;
} from_cases[] = {
    {"Test test@example.com", "test@example.com", "Test", TRUE},
    {"Big Bug bb@bug.com", "bb@bug.com", "Big Bug", TRUE},
    {"\"name\" <local part with spaces@example.com>", "local part with spaces@example.com", "name",
     TRUE},
    {"CRM Comments [crm-comment@example.com]", "crm-comment@example.com", "CRM Comments", TRUE},
    {"=?iso-8859-1?Q?M=FCller,_Hans?= <hm@example.com>", "hm@example.com", "Müller, Hans", FALSE},
    {"=?utf-8?Q?Doe,?= =?utf-8?Q?_Jane?= <jd@example.com>", "jd@example.com", "Doe, Jane", FALSE},
    {"Someone <someone@Example.COM.>", "someone@example.com", "Someone", FALSE},
    {"someone.@example.com", "someone.@example.com", NULL, TRUE},
    {"Test test@example.com, other@example.com", "test@example.com", "Test", TRUE},
    {"Plain <plain@example.com>", "plain@example.com", "Plain", FALSE},
    /* an encoded line break in a name is a space, never a header line */
    {"=?utf-8?q?Eve=0D=0ABcc:_victim@example.net?= <eve@example.org>", "eve@example.org",
     "Eve  Bcc: victim@example.net", FALSE},
};

static void test_broken_senders(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(from_cases); i++) {
		g_autofree char *raw =
		    g_strdup_printf("From: %s\nSubject: x\n\nbody\n", from_cases[i].from);
		g_autoptr(DkMessage) m = parse(raw);
		if (m->from == NULL)
			fail_msg("case %u: no sender", i);
		expect(i, "address", m->from->address, from_cases[i].address);
		expect(i, "name", m->from->name, from_cases[i].name);
		if (m->from_repaired != from_cases[i].repaired ||
		    has_repair(m, "From:") != from_cases[i].repaired)
			fail_msg("case %u: repaired=%d", i, m->from_repaired);
	}
	/* a name and an empty address: the address from Return-Path, the
	 * name kept, and said so */
	g_autoptr(DkMessage) m =
	    parse("Return-Path: <w@example.cn>\nFrom: \"=?GB2312?B?ztI=?=\" <>\nSubject: x\n\nb\n");
	assert_string_equal(m->from->address, "w@example.cn");
	assert_string_equal(m->from->name, "我");
	assert_true(m->from_repaired);
	assert_true(has_repair(m, "taken from Return-Path"));
	g_autoptr(DkMessage) none = parse("From: \"=?GB2312?B?ztI=?=\" <>\nSubject: x\n\nb\n");
	assert_null(none->from);
	assert_true(has_repair(none, "without an address"));
	/* a bare comma inside an encoded word in a list splits no name */
	g_autoptr(DkMessage) list =
	    parse("From: a@example.com\nTo: =?iso-8859-1?Q?M=FCller,_Hans?= <hm@example.com>, "
	          "b@example.com\nSubject: x\n\nb\n");
	assert_int_equal(list->to->len, 2);
	assert_string_equal(((DkAddress *)g_ptr_array_index(list->to, 0))->name, "Müller, Hans");
}

/* ---- class 4: encoded-word subjects ---- */

static const struct {
	const char *header, *subject;
} subject_cases[] = {
    {"=?utf-8?B?DQo=?=\n =?utf-8?B?w6k=?= x", "é x"},
    {"=?utf-8?B?DQo=?= =?utf-8?B?SGVsbG8=?= =?utf-8?B?IHdvcmxk?=", "Hello world"},
    {"=?GBK?Q?=0D=0A?=\n\t=?GBK?B?xOO6ww==?= end", "你好 end"},
    {"=?utf-8?B?DQpSZTog?= =?utf-8?B?VGlja2V0?=", "Re: Ticket"},
    {"=?iso-8859-1?Q?=0D=0A?=Hello =?iso-8859-1?Q?W=F6rld?=", "Hello Wörld"},
    {"=?utf-8?B?5pel5pys?= =?utf-8?B?6Kqe?=", "日本語"},
    {"=?utf-8?B?5pel?= =?utf-8?B?5pys6Kqe?=", "日本語"},
    {"=?utf-8?q?a?= =?iso-8859-1?q?=E9?=", "aé"},
};

static void test_encoded_word_subjects(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(subject_cases); i++) {
		g_autofree char *raw = g_strdup_printf("From: a@example.com\nSubject: %s\n\nbody\n",
		                                       subject_cases[i].header);
		g_autoptr(DkMessage) m = parse(raw);
		expect(i, "subject", m->subject, subject_cases[i].subject);
		expect(i, "header", dk_message_header(m, "subject"), subject_cases[i].subject);
	}
}

/* ---- class 5: attachments without a file name ---- */

static const struct {
	const char *part, *filename;
	gboolean generated;
} name_cases[] = {
    {"Content-Type: image/png\n\nPNG", "image.png", TRUE},
    {"Content-Type: image/jpeg\nContent-ID: <image001.jpg@01D9A1B2.C3D4E5F0>\n\nJPG",
     "image001.jpg", TRUE},
    {"Content-Type: application/octet-stream\n\nBIN", "file.bin", TRUE},
    {"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n", "delivery-status.txt",
     TRUE},
    {"Content-Type: text/rfc822-headers\n\nFrom: x\n", "headers.txt", TRUE},
    {"Content-Type: message/delivery-status\nContent-Description: Delivery report\n\nAction: "
     "failed\n",
     "Delivery report.txt", TRUE},
    {"Content-Type: message/rfc822\n\nFrom: b@example.com\nSubject: Call: HW\n\ninner\n",
     "Call: HW.eml", TRUE},
    {"Content-Type: message/rfc822\n\nFrom: b@example.com\n\ninner\n", "message.eml", TRUE},
    {"Content-Type: text/calendar\nContent-Disposition: attachment\n\nBEGIN:VCALENDAR\n",
     "calendar.ics", TRUE},
    {"Content-Type: application/x-unknown-thing\n\nX", "file", TRUE},
    {"Content-Type: application/pdf; name=\"Call: HW.pdf\"\n\n%PDF", "Call: HW.pdf", FALSE},
};

static void test_unnamed_attachments(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(name_cases); i++) {
		g_autofree char *raw = g_strdup_printf(
		    "From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; "
		    "boundary=b\n\n--b\nContent-Type: text/plain\n\nbody\n--b\n%s\n--b--\n",
		    name_cases[i].part);
		g_autoptr(DkMessage) m = parse(raw);
		assert_int_equal(m->attachments->len, 1);
		const DkAttachment *a = g_ptr_array_index(m->attachments, 0);
		expect(i, "filename", a->filename, name_cases[i].filename);
		if (a->filename_generated != name_cases[i].generated)
			fail_msg("case %u: generated=%d", i, a->filename_generated);
	}
	/* two unnamed images: the second name is new; the safe name for a
	 * file keeps no colon */
	g_autoptr(DkMessage) m =
	    parse("From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n\n"
	          "--b\nContent-Type: image/png\n\nA\n--b\nContent-Type: image/png\n\nB\n"
	          "--b\nContent-Type: message/rfc822\n\nSubject: Call: HW\n\nx\n--b--\n");
	assert_int_equal(m->attachments->len, 3);
	assert_string_equal(((DkAttachment *)g_ptr_array_index(m->attachments, 0))->filename,
	                    "image.png");
	assert_string_equal(((DkAttachment *)g_ptr_array_index(m->attachments, 1))->filename,
	                    "image1.png");
	g_autofree char *file = dk_attachment_safe_filename(
	    ((DkAttachment *)g_ptr_array_index(m->attachments, 2))->filename);
	assert_string_equal(file, "Call_ HW.eml");
}

/* ---- class 6: junk before the header block ---- */

static const struct {
	const char *raw, *skipped;
} junk_cases[] = {
    {"---- Original email message ----\nFrom: a@example.com\nSubject: junk\n\nbody\n",
     "Original email message"},
    {"\xef\xbb\xbf"
     "From: a@example.com\nSubject: junk\n\nbody\n",
     "byte order mark"},
    {"From a@example.com Mon May  2 16:07:05 2005\nFrom: a@example.com\nSubject: junk\n\nbody\n",
     "From a@example"},
    {"\r\nforwarded as text\r\n\r\nReceived: from x\r\n\tby y\r\nFrom: a@example.com\r\nSubject: "
     "junk\r\n\r\nbody\r\n",
     "forwarded as text"},
    {"\xef\xbb\xbf-----Original Message-----\nFrom: a@example.com\nSubject: junk\n\nbody\n",
     "Original Message"},
};

static void test_junk_before_header(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(junk_cases); i++) {
		g_autoptr(DkMessage) m = parse(junk_cases[i].raw);
		expect(i, "subject", m->subject, "junk");
		expect(i, "from", m->from ? m->from->address : NULL, "a@example.com");
		g_autofree char *text = g_strstrip(g_strdup(m->text));
		expect(i, "text", text, "body");
		if (!has_repair(m, junk_cases[i].skipped))
			fail_msg("case %u: skip not recorded", i);
	}
	/* text with no header block after it is still not mail, and a lone
	 * field line after junk is not a header block */
	static const char *const not_mail[] = {
	    "Hello,\nplease see below.\n\nThanks\n",
	    "Hi there\nSubject: only one line\n\nbody\n",
	    "one\ntwo\nthree\nfour\nfive\nsix\nseven\nFrom: a@example.com\nSubject: late\n\nbody\n",
	};
	for (guint i = 0; i < G_N_ELEMENTS(not_mail); i++) {
		g_autoptr(GBytes) b = g_bytes_new_static(not_mail[i], strlen(not_mail[i]));
		g_autoptr(GError) error = NULL;
		g_autoptr(DkMessage) m = dk_message_parse(b, NULL, &error);
		if (m != NULL)
			fail_msg("not-mail case %u parsed", i);
		assert_true(g_error_matches(error, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL));
	}
}

/* ---- the shared corpus's messages of these classes ---- */

static DkMessage *parse_corpus(const char *corpus, const char *name)
{
	g_autofree char *path = g_build_filename(corpus, name, NULL);
	g_autoptr(GMappedFile) file = g_mapped_file_new(path, FALSE, NULL);
	if (file == NULL)
		fail_msg("%s missing", path);
	g_autoptr(GBytes) raw = g_mapped_file_get_bytes(file);
	DkParseOptions o = {.arrival_time = 1700000000};
	DkMessage *m = dk_message_parse(raw, &o, NULL);
	if (m == NULL)
		fail_msg("%s: not parsed", name);
	return m;
}

static const struct {
	const char *file, *subject, *from, *name, *text, *filename;
} corpus_cases[] = {
    {"ruby-mail/emails/multi_charset/japanese_iso_2022.eml", "まみむめも", "raasdnil@gmail.com",
     "Mikel Lindsaar", "すみません。", NULL},
    {"ruby-mail/emails/multi_charset/japanese_shift_jis.eml", "test", "xxxxxxx@docomo.ne.jp", NULL,
     "あいうえお", NULL},
    {"ruby-mail/emails/multi_charset/ks_c_5601-1987.eml", "test", "from@example.com", NULL,
     "스티해", NULL},
    {"ruby-mail/emails/multi_charset/japanese_attachment.eml", "testing", "raasdnil@gmail.com",
     "Mikel Lindsaar", "testing", "てすと.txt"},
    {"ruby-mail/emails/rfc2822/example14.eml", "Re: TEST  テストテスト", NULL, NULL, NULL, NULL},
    {"ruby-mail/emails/plain_emails/mix_caps_content_type.eml", NULL, "bb@bug.com", "Big Bug", NULL,
     NULL},
    {"rt/emails/russian-subject-no-content-type", "тест тест", "mitya@fling-wing.example.com",
     "Dmitry S. Sivachenko", NULL, NULL},
    {"rt/emails/new-ticket-from-gb18030", NULL, NULL, NULL, NULL, NULL},
    {"ruby-mail/emails/plain_emails/raw_email_simple.eml", NULL, NULL, NULL, NULL, NULL},
    {"ruby-mail/emails/attachment_emails/attachment_content_location.eml", NULL, NULL, NULL, NULL,
     "image.jpg"},
};

static void test_corpus_classes(void **state)
{
	(void)state;
	g_autofree char *corpus = dk_test_shared_path("corpus");
	if (corpus == NULL)
		skip();
	for (guint i = 0; i < G_N_ELEMENTS(corpus_cases); i++) {
		g_autoptr(DkMessage) m = parse_corpus(corpus, corpus_cases[i].file);
		if (corpus_cases[i].subject)
			expect(i, "subject", m->subject, corpus_cases[i].subject);
		if (corpus_cases[i].from) {
			expect(i, "from", m->from ? m->from->address : NULL, corpus_cases[i].from);
			expect(i, "name", m->from->name, corpus_cases[i].name);
		}
		if (corpus_cases[i].text && strstr(m->text, corpus_cases[i].text) == NULL)
			fail_msg("case %u: text lacks %s", i, corpus_cases[i].text);
		for (guint k = 0; corpus_cases[i].filename && k < m->attachments->len; k++) {
			const DkAttachment *a = g_ptr_array_index(m->attachments, k);
			expect(i, "filename", a->filename, corpus_cases[i].filename);
		}
		if (strstr(m->subject, "\xef\xbf\xbd") != NULL)
			fail_msg("case %u: unreadable subject", i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encoded_word_subjects),
	    cmocka_unit_test(test_broken_senders),
	    cmocka_unit_test(test_junk_before_header),
	    cmocka_unit_test(test_unnamed_attachments),
	    cmocka_unit_test(test_raw_8bit_headers_and_bodies),
	    cmocka_unit_test(test_iso_2022_jp_extensions),
	    cmocka_unit_test(test_corpus_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
