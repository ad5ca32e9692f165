/* Tests of reply/forward prefix chains in many languages and of the
 * ticket token, including other systems' tokens that must never match. */
#include "dk-test.h"
#include "parsers/subject.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
	const char *subject;
	const char *stripped;
} StripCase;

static const StripCase strip_cases[] = {
    {"Re: Printer", "Printer"},
    {"RE: Printer", "Printer"},
    {"re:Printer", "Printer"},
    {"Fwd: Printer", "Printer"},
    {"FW: Printer", "Printer"},
    {"Fw: RE: Printer", "Printer"},
    {"AW: Drucker", "Drucker"},
    {"WG: AW: Drucker", "Drucker"},
    {"SV: Skrivare", "Skrivare"},
    {"VS: Tulostin", "Tulostin"},
    {"VB: Printer", "Printer"},
    {"Antw: Printer", "Printer"},
    {"Doorst: Printer", "Printer"},
    {"TR: Imprimante", "Imprimante"},
    {"RE : Imprimante", "Imprimante"},
    {"RV: Impresora", "Impresora"},
    {"Rif: Stampante", "Stampante"},
    {"R: Stampante", "Stampante"},
    {"I: Stampante", "Stampante"},
    {"Odp: Drukarka", "Drukarka"},
    {"PD: Drukarka", "Drukarka"},
    {"Res: Impressora", "Impressora"},
    {"ENC: Impressora", "Impressora"},
    {"YNT: Yazıcı", "Yazıcı"},
    {"İLT: Yazıcı", "Yazıcı"},
    {"Vá: Nyomtató", "Nyomtató"},
    {"ΑΠ: Εκτυπωτής", "Εκτυπωτής"},
    {"Σχετ: Εκτυπωτής", "Εκτυπωτής"},
    {"Отв: Принтер", "Принтер"},
    {"ОТВЕТ: Принтер", "Принтер"},
    {"Пересл: Принтер", "Принтер"},
    {"回复：打印机", "打印机"},
    {"答复: 打印机", "打印机"},
    {"转发：回复：打印机", "打印机"},
    {"回覆：印表機", "印表機"},
    {"返信: プリンター", "プリンター"},
    {"転送：プリンター", "プリンター"},
    {"답장: 프린터", "프린터"},
    {"Re[2]: Printer", "Printer"},
    {"RE^3: Printer", "Printer"},
    {"Re(4): Printer", "Printer"},
    {"Re: Re: Re: RE: AW: Fwd: Printer", "Printer"},
    {"  Re:   Printer  ", "Printer"},
    {"Re:\u3000Printer", "Printer"},
    /* Not prefixes: words that merely start like one, a prefix without
     * a colon, a colon somewhere later. */
    {"Release: 2.0", "Release: 2.0"},
    {"Rework needed", "Rework needed"},
    {"Re Printer", "Re Printer"},
    {"Reminder: meeting", "Reminder: meeting"},
    {"Invoice: Re: Printer", "Invoice: Re: Printer"},
    {"Trouble: VPN", "Trouble: VPN"},
    {"Re[x]: Printer", "Re[x]: Printer"},
    {"", ""},
    {"Re:", ""},
};

static void test_strip(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(strip_cases); i++) {
		g_autofree char *got = dk_subject_strip(strip_cases[i].subject);
		if (strcmp(got, strip_cases[i].stripped) != 0)
			fail_msg("“%s”: got “%s”, expected “%s”", strip_cases[i].subject, got,
			         strip_cases[i].stripped);
	}
	g_autofree char *none = dk_subject_strip(NULL);
	assert_string_equal(none, "");
}

static void test_prefix_length_bounded(void **state)
{
	GString *s = g_string_new(NULL);
	for (int i = 0; i < 10000; i++)
		g_string_append(s, "Re: ");
	g_string_append(s, "end");
	gsize n = dk_subject_prefix_length(s->str);
	assert_true(n > 0 && n <= 64 * 4);
	g_string_free(s, TRUE);
	assert_int_equal(dk_subject_prefix_length("Re: \xff\xfe broken"), 0);
}

typedef struct {
	const char *subject;
	const char *prefix;
	gint64 number; /* 0: no token */
} TokenCase;

static const TokenCase token_cases[] = {
    {"[docket #12] Printer", "docket", 12},
    {"Re: [docket #12] Printer", "docket", 12},
    {"AW: WG: [Docket #7] Drucker", "docket", 7},
    {"RE: Printer [docket #345]", "docket", 345},
    {"回复：[docket #9] 打印机", "docket", 9},
    {"Re[2]: [docket  #  12 ] Printer", "docket", 12},
    {"[docket#12] Printer", "docket", 12},
    {"Re: [ACME Support #88] x", "ACME Support", 88},
    {"Re: [docket #3] Fwd: [docket #5]", "docket", 3},
    {"Re: [RT #12] Printer", "docket", 0},
    {"Re: #12 Printer", "docket", 0},
    {"Re: docket #12 Printer", "docket", 0},
    {"Re: [docket-eu #12] Printer", "docket", 0},
    {"Re: [mydocket #12] Printer", "docket", 0},
    {"Re: [docket #] Printer", "docket", 0},
    {"Re: [docket #12a] Printer", "docket", 0},
    {"Re: [docket #-12] Printer", "docket", 0},
    {"Re: [docket #0] Printer", "docket", 0},
    {"Re: [docket #1234567890123456789] Printer", "docket", 0},
    {"Re: [docket #12 Printer", "docket", 0},
    {"Re: [Case: 12] Printer", "docket", 0},
    {"Printer", "docket", 0},
    {"[docket #12]", "", 0},
};

static void test_token(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(token_cases); i++) {
		const TokenCase *c = &token_cases[i];
		gint64 n = 0;
		gboolean found = dk_subject_find_token(c->subject, c->prefix, &n);
		if (found != (c->number != 0) || (found && n != c->number))
			fail_msg("“%s” with prefix “%s”: found=%d number=%" G_GINT64_FORMAT,
			         c->subject, c->prefix, found, n);
	}
	gint64 n = 0;
	assert_false(dk_subject_find_token(NULL, "docket", &n));
}

static void test_clean(void **state)
{
	static const char *const cases[][2] = {
	    {"Re: [docket #12] Printer", "Printer"},
	    {"AW: [docket #1] WG: Drucker", "Drucker"},
	    {"Printer [docket #3]", "Printer"},
	    {"Re: [RT #4] Printer", "[RT #4] Printer"},
	    {"Fwd: Invoice", "Invoice"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = dk_subject_clean(cases[i][0], "docket");
		assert_string_equal(got, cases[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strip),
	    cmocka_unit_test(test_prefix_length_bounded),
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
