/* The Sieve interpreter: each construct and extension on a known message,
 * including the examples of RFC 5228, 5229, 5231, 5232, 5233, 5260, 3894,
 * 5173, 5429 and the regex draft. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/rules/sieve-test-util.h"

typedef struct {
	const char *name;
	const char *script;
	const char *expected;
} Case;

static void run_cases(const Case *cases, gsize n, const char *message, const DkSieveTestEnv *env)
{
	guint failed = 0;
	for (gsize i = 0; i < n; i++) {
		g_autofree char *got = dk_sieve_test_run(cases[i].script, message, env);
		if (strcmp(got, cases[i].expected) != 0) {
			print_error("case '%s':\n  expected: %s\n  got:      %s\n", cases[i].name,
			            cases[i].expected, got);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static const Case core_cases[] = {
    {"empty script: implicit keep", "", "implicit-keep"},
    {"keep", "keep;", "keep"},
    {"discard", "discard;", "discard"},
    {"stop keeps implicitly", "stop; discard;", "implicit-keep"},
    {"redirect cancels implicit keep", "redirect \"x@example.com\";", "redirect:x@example.com"},
    {"redirect twice is once", "redirect \"x@example.com\"; redirect \"X@example.com\";",
     "redirect:x@example.com"},
    {"fileinto", "require \"fileinto\"; fileinto \"Lists\";", "fileinto:Lists"},
    {"fileinto twice is once", "require \"fileinto\"; fileinto \"A\"; fileinto \"A\";",
     "fileinto:A"},
    {"keep twice is once", "keep; keep;", "keep"},
    {"fileinto INBOX is keep", "require \"fileinto\"; keep; fileinto \"inbox\";", "keep"},
    {"if true", "if true { discard; }", "discard"},
    {"if false", "if false { discard; }", "implicit-keep"},
    {"elsif", "if false { discard; } elsif true { keep; } else { redirect \"a@b.c\"; }", "keep"},
    {"else", "if false { discard; } elsif false { keep; } else { redirect \"a@b.c\"; }",
     "redirect:a@b.c"},
    {"chains restart at if", "if true { keep; } if true { discard; } else { stop; }",
     "keep; discard"},
    {"stop in block", "if true { stop; } discard;", "implicit-keep"},
    {"not", "if not false { discard; }", "discard"},
    {"allof", "if allof(true, false) { discard; }", "implicit-keep"},
    {"allof all true", "if allof(true, true, not false) { discard; }", "discard"},
    {"anyof", "if anyof(false, true) { discard; }", "discard"},
    {"anyof none", "if anyof(false, false) { discard; }", "implicit-keep"},
    /* header, RFC 5228 section 5.7 */
    {"header :is default casemap",
     "if header :is \"subject\" \"[ACME-users] [fwd] version 1.0 is out\" { discard; }", "discard"},
    {"header :is octet",
     "if header :is :comparator \"i;octet\" \"subject\" \"[ACME-users] [fwd] version 1.0 is out\" "
     "{ discard; }",
     "implicit-keep"},
    {"header :contains", "if header :contains [\"to\", \"subject\"] \"VERSION\" { discard; }",
     "discard"},
    {"header :contains empty key on existing", "if header :contains \"cc\" \"\" { discard; }",
     "discard"},
    {"header absent", "if header :contains \"x-none\" \"\" { discard; }", "implicit-keep"},
    {"header :matches", "if header :matches \"subject\" \"*1.?*\" { discard; }", "discard"},
    {"header :matches anchored", "if header :matches \"subject\" \"version*\" { discard; }",
     "implicit-keep"},
    {"header multiple values", "if header :is \"x-priority\" \"5\" { discard; }", "discard"},
    {"exists", "if exists [\"from\", \"to\"] { discard; }", "discard"},
    {"exists one missing", "if exists [\"from\", \"x-nope\"] { discard; }", "implicit-keep"},
    /* address, RFC 5228 section 5.1 */
    {"address :all", "if address :is \"from\" \"joe+lists@example.com\" { discard; }", "discard"},
    {"address :domain", "if address :domain :is \"from\" \"EXAMPLE.com\" { discard; }", "discard"},
    {"address :localpart", "if address :localpart :is \"from\" \"joe+lists\" { discard; }",
     "discard"},
    {"address in list", "if address :is \"to\" \"bob@example.net\" { discard; }", "discard"},
    {"address name is not matched", "if address :contains \"to\" \" \" { discard; }",
     "implicit-keep"},
    {"address :matches", "if address :matches :domain [\"cc\"] \"*.org\" { discard; }", "discard"},
    /* size, RFC 5228 section 5.9 */
    {"size over", "if size :over 100 { discard; }", "discard"},
    {"size over K", "if size :over 1K { discard; }", "implicit-keep"},
    {"size under", "if size :under 1M { discard; }", "discard"},
    {"size not strictly", "if anyof(size :over 10000, size :under 10) { discard; }",
     "implicit-keep"},
    /* RFC 5228 section 9 example, adapted */
    {"rfc5228 example",
     "require \"fileinto\";\n"
     "if header :is \"Sender\" \"owner-ietf-mta-filters@imc.org\" { fileinto \"filter\"; }\n"
     "elsif address :DOMAIN :is [\"From\", \"To\"] \"example.com\" { keep; }\n"
     "elsif anyof (NOT address :all :contains [\"To\", \"Cc\", \"Bcc\"] \"me@example.com\",\n"
     "             header :matches \"subject\" [\"*make*money*fast*\", \"*university*dipl*mas*\"]) "
     "{\n"
     "    fileinto \"spam\";\n"
     "} else { fileinto \"personal\"; }",
     "keep"},
    {"comparator numeric needs require",
     "if header :comparator \"i;ascii-numeric\" :is \"x-priority\" \"2\" { discard; }",
     "COMPILE: 1:23: comparator 'i;ascii-numeric' needs require \"comparator-i;ascii-numeric\""},
    {"comparator numeric",
     "require \"comparator-i;ascii-numeric\";\n"
     "if header :comparator \"i;ascii-numeric\" :is \"x-priority\" \"02\" { discard; }",
     "discard"},
};

static void test_core(void **state)
{
	run_cases(core_cases, G_N_ELEMENTS(core_cases), NULL, NULL);
}

static const Case envelope_cases[] = {
    {"envelope from",
     "require \"envelope\"; if envelope :is \"from\" \"bounce@example.com\" { discard; }",
     "discard"},
    {"envelope to :localpart",
     "require \"envelope\"; if envelope :localpart :is \"to\" \"support+billing\" { discard; }",
     "discard"},
    {"subaddress :user",
     "require [\"envelope\", \"subaddress\"]; if envelope :user \"to\" \"support\" { discard; }",
     "discard"},
    {"subaddress :detail",
     "require [\"envelope\", \"subaddress\", \"fileinto\"]; if envelope :detail :matches \"to\" "
     "\"*\" { fileinto \"q-${1}\"; }",
     "fileinto:q-${1}"},
    {"subaddress detail with variables",
     "require [\"envelope\", \"subaddress\", \"fileinto\", \"variables\"];\n"
     "if envelope :detail :matches \"to\" \"*\" { fileinto \"q-${1}\"; }",
     "fileinto:q-billing"},
    {"subaddress :detail address",
     "require \"subaddress\"; if address :detail \"from\" \"lists\" { discard; }", "discard"},
    {"envelope needs require", "if envelope \"from\" \"x\" { discard; }",
     "COMPILE: 1:4: 'envelope' needs require \"envelope\""},
    {"envelope unknown part", "require \"envelope\"; if envelope \"rcpt\" \"x\" { discard; }",
     "COMPILE: 1:33: unknown envelope part 'rcpt': expected \"from\" or \"to\""},
};

static void test_envelope(void **state)
{
	DkSieveTestEnv env = {.envelope_from = "bounce@example.com",
	                      .envelope_to = "support+billing@example.com"};
	run_cases(envelope_cases, G_N_ELEMENTS(envelope_cases), NULL, &env);
}

static const Case action_cases[] = {
    {"fileinto :copy keeps", "require [\"fileinto\", \"copy\"]; fileinto :copy \"A\";",
     "fileinto:A copy; implicit-keep"},
    {"redirect :copy keeps", "require \"copy\"; redirect :copy \"a@example.com\";",
     "redirect:a@example.com copy; implicit-keep"},
    {"copy needs require", "require \"fileinto\"; fileinto :copy \"A\";",
     "COMPILE: 1:30: tag ':copy' needs require \"copy\""},
    {"reject", "require \"reject\"; reject \"go away\";", "reject:go away"},
    {"ereject", "require \"ereject\"; ereject \"go away\";", "ereject:go away"},
    {"reject with keep conflicts", "require \"reject\"; reject \"no\"; keep;",
     "ERROR: reject conflicts with keep, fileinto or redirect"},
    {"reject with discard", "require \"reject\"; reject \"no\"; discard;", "reject:no; discard"},
    {"redirect bad address", "redirect \"not an address\";",
     "COMPILE: 1:10: redirect expects one valid mail address, found 'not an address'"},
};

static void test_actions(void **state)
{
	run_cases(action_cases, G_N_ELEMENTS(action_cases), NULL, NULL);
}

static const Case flag_cases[] = {
    {"implicit keep takes flags", "require \"imap4flags\"; addflag \"\\\\Seen\";",
     "addflag [\\Seen]; implicit-keep [\\Seen]"},
    {"setflag replaces", "require \"imap4flags\"; addflag \"a b\"; setflag \"c\";",
     "addflag [a b]; setflag [c]; implicit-keep [c]"},
    {"removeflag", "require \"imap4flags\"; addflag [\"a\", \"b c\"]; removeflag \"B\";",
     "addflag [a b c]; removeflag [B]; implicit-keep [a c]"},
    {"keep uses current flags", "require \"imap4flags\"; addflag \"x\"; keep; addflag \"y\";",
     "addflag [x]; keep [x]; addflag [y]"},
    {":flags on fileinto",
     "require [\"imap4flags\", \"fileinto\"]; addflag \"x\"; fileinto :flags \"\\\\Flagged\" "
     "\"A\";",
     "addflag [x]; fileinto:A [\\Flagged]"},
    {"hasflag",
     "require \"imap4flags\"; addflag \"urgent\"; if hasflag :is \"URGENT\" { discard; }",
     "addflag [urgent]; discard"},
    {"hasflag :contains",
     "require \"imap4flags\"; setflag \"abc def\"; if hasflag :contains \"ef\" { discard; }",
     "setflag [abc def]; discard"},
    {"flags in a variable",
     "require [\"imap4flags\", \"variables\"]; addflag \"v\" \"a\"; addflag \"v\" \"b\";\n"
     "if hasflag \"v\" \"b\" { discard; }",
     "addflag:v [a]; addflag:v [b]; discard"},
    {"duplicate keeps merge flags",
     "require \"imap4flags\"; keep :flags \"a\"; keep :flags [\"b\", \"A\"];", "keep [a b]"},
    {"duplicate flags once", "require \"imap4flags\"; setflag \"a A a\";",
     "setflag [a]; implicit-keep [a]"},
};

static void test_imap4flags(void **state)
{
	run_cases(flag_cases, G_N_ELEMENTS(flag_cases), NULL, NULL);
}

static const Case variable_cases[] = {
    {"set and use",
     "require [\"variables\", \"fileinto\"]; set \"q\" \"Sales\"; fileinto \"${q}\";",
     "fileinto:Sales"},
    {"names are case-insensitive",
     "require [\"variables\", \"fileinto\"]; set \"Q\" \"x\"; fileinto \"${q}-${Q}\";",
     "fileinto:x-x"},
    {"unknown is empty", "require [\"variables\", \"fileinto\"]; fileinto \"a${nope}b\";",
     "fileinto:ab"},
    {"invalid reference stays", "require [\"variables\", \"fileinto\"]; fileinto \"a${-}b${\";",
     "fileinto:a${-}b${"},
    {"no expansion without require", "require \"fileinto\"; fileinto \"${x}\";", "fileinto:${x}"},
    {":lower",
     "require [\"variables\", \"fileinto\"]; set :lower \"a\" \"MiXed\"; fileinto \"${a}\";",
     "fileinto:mixed"},
    {":upper",
     "require [\"variables\", \"fileinto\"]; set :upper \"a\" \"MiXed\"; fileinto \"${a}\";",
     "fileinto:MIXED"},
    {":upperfirst :lower",
     "require [\"variables\", \"fileinto\"]; set :upperfirst :lower \"a\" \"jOHN\"; fileinto "
     "\"${a}\";",
     "fileinto:John"},
    {":lowerfirst",
     "require [\"variables\", \"fileinto\"]; set :lowerfirst \"a\" \"ABC\"; fileinto \"${a}\";",
     "fileinto:aBC"},
    {":length",
     "require [\"variables\", \"fileinto\"]; set :length \"a\" \"héllo\"; fileinto \"${a}\";",
     "fileinto:5"},
    {":quotewildcard",
     "require [\"variables\", \"fileinto\"]; set :quotewildcard \"a\" \"a*b?c\\\\\"; fileinto "
     "\"${a}\";",
     "fileinto:a\\*b\\?c\\\\"},
    {"two modifiers same precedence", "require \"variables\"; set :lower :upper \"a\" \"b\";",
     "COMPILE: 1:33: two modifiers of the same precedence"},
    {"invalid name", "require \"variables\"; set \"1a\" \"b\";",
     "COMPILE: 1:26: invalid variable name '1a'"},
    /* RFC 5229 section 3.2 examples */
    {"rfc5229 list-id",
     "require [\"fileinto\", \"variables\"];\n"
     "if header :matches \"List-ID\" \"*<*@*\" { fileinto \"INBOX.lists.${2}\"; stop; }\n"
     "if header :matches \"Subject\" \"[*] *\" { fileinto \"INBOX.lists.${1}\"; stop; }",
     "fileinto:INBOX.lists.acme-users"},
    {"rfc5229 captures",
     "require [\"fileinto\", \"variables\"];\n"
     "if header :matches \"Subject\" \"[*] *\" { fileinto \"${1}|${2}|${0}\"; }",
     "fileinto:acme-users|[fwd] version 1.0 is out|[acme-users] [fwd] version 1.0 is out"},
    {"? captures one",
     "require [\"fileinto\", \"variables\"];\n"
     "if header :matches \"Subject\" \"*version ?.?*\" { fileinto \"${2}-${3}\"; }",
     "fileinto:1-0"},
    {"failed match keeps captures",
     "require [\"fileinto\", \"variables\"];\n"
     "if header :matches \"Subject\" \"[*]*\" { } if header :matches \"Subject\" \"nope*\" { } "
     "fileinto \"${1}\";",
     "fileinto:acme-users"},
    {"string test",
     "require \"variables\"; set \"a\" \"hello\"; if string :is \"${a}\" \"HELLO\" { discard; }",
     "discard"},
    {"string :count ignores empty",
     "require [\"variables\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
     "if string :count \"eq\" :comparator \"i;ascii-numeric\" [\"a\", \"\", \"b\"] \"2\" { "
     "discard; }",
     "discard"},
    {"expanded key is a pattern",
     "require \"variables\"; set \"p\" \"*users*\"; if header :matches \"subject\" \"${p}\" { "
     "discard; }",
     "discard"},
};

static void test_variables(void **state)
{
	run_cases(variable_cases, G_N_ELEMENTS(variable_cases), NULL, NULL);
}

static const Case relational_cases[] = {
    {":count header",
     "require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
     "if header :count \"eq\" :comparator \"i;ascii-numeric\" \"x-priority\" \"2\" { discard; }",
     "discard"},
    {":count address",
     "require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
     "if address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] [\"3\"] { discard; "
     "}",
     "discard"},
    {":count gt fails",
     "require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
     "if address :count \"gt\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] [\"3\"] { discard; "
     "}",
     "implicit-keep"},
    {":value gt numeric",
     "require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
     "if header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-priority\" \"3\" { discard; }",
     "discard"},
    {":value gt string: '[' sorts after 'A'",
     "require \"relational\"; if header :value \"gt\" \"subject\" \"a\" { discard; }", "discard"},
    {":value casemap orders in upper case",
     "require [\"relational\", \"variables\"]; if string :value \"gt\" \"_\" \"a\" { discard; }",
     "discard"},
    {":value octet",
     "require [\"relational\", \"variables\"];\n"
     "if string :value \"gt\" :comparator \"i;octet\" \"_\" \"a\" { discard; }",
     "implicit-keep"},
    {":value ne",
     "require \"relational\"; if header :value \"ne\" \"x-priority\" \"2\" { discard; }",
     "discard"},
    {"bad relop", "require \"relational\"; if header :value \"xx\" \"a\" \"b\" { discard; }",
     "COMPILE: 1:40: expected a relational operator (gt ge lt le eq ne)"},
    {"non-numeric is infinity",
     "require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
     "if header :value \"gt\" :comparator \"i;ascii-numeric\" \"subject\" \"99999\" { discard; }",
     "discard"},
    /* RFC 5231 section 6 example */
    {"rfc5231 example",
     "require [\"relational\", \"comparator-i;ascii-numeric\", \"fileinto\"];\n"
     "if header :value \"lt\" :comparator \"i;ascii-numeric\" [\"x-priority\"] [\"3\"] { fileinto "
     "\"Priority\"; }\n"
     "elsif address :count \"gt\" :comparator \"i;ascii-numeric\" [\"to\"] [\"5\"] { fileinto "
     "\"Spam\"; }",
     "fileinto:Priority"},
};

static void test_relational(void **state)
{
	run_cases(relational_cases, G_N_ELEMENTS(relational_cases), NULL, NULL);
}

static const Case regex_cases[] = {
    {":regex",
     "require \"regex\"; if header :regex \"subject\" \"^\\\\[acme-[a-z]+\\\\]\" { discard; }",
     "discard"},
    {":regex casemap",
     "require \"regex\"; if header :regex \"subject\" \"VERSION [0-9]\" { discard; }", "discard"},
    {":regex octet",
     "require \"regex\"; if header :regex :comparator \"i;octet\" \"subject\" \"VERSION\" { "
     "discard; }",
     "implicit-keep"},
    {":regex captures",
     "require [\"regex\", \"variables\", \"fileinto\"];\n"
     "if header :regex \"subject\" \"version ([0-9]+)\\\\.([0-9]+)\" { fileinto \"v${1}-${2}\"; }",
     "fileinto:v1-0"},
    {"invalid regex", "require \"regex\"; if header :regex \"subject\" \"(\" { discard; }",
     "COMPILE: 1:45: invalid regular expression: Error while compiling regular expression ‘(’ at "
     "char 1: missing terminating )"},
    {"pattern not UTF-8",
     "require \"regex\"; if header :regex \"subject\" \"[0-9\xff]\" { discard; }",
     "COMPILE: 1:45: invalid regular expression: pattern is not valid UTF-8"},
    {"regex needs require", "if header :regex \"subject\" \"x\" { discard; }",
     "COMPILE: 1:11: tag ':regex' needs require \"regex\""},
};

static void test_regex(void **state)
{
	run_cases(regex_cases, G_N_ELEMENTS(regex_cases), NULL, NULL);
}

static const Case body_cases[] = {
    {"body :contains", "require \"body\"; if body :contains \"DOWN since\" { discard; }",
     "discard"},
    {"body :text", "require \"body\"; if body :text :contains \"web01\" { discard; }", "discard"},
    {"body :content text",
     "require \"body\"; if body :content \"text\" :contains \"web01\" { discard; }", "discard"},
    {"body :content image",
     "require \"body\"; if body :content \"image\" :contains \"web01\" { discard; }",
     "implicit-keep"},
    {"body :matches capture",
     "require [\"body\", \"variables\", \"fileinto\"];\n"
     "if body :matches \"*server * is*\" { fileinto \"${2}\"; }",
     "fileinto:web01"},
    {"body two transforms", "require \"body\"; if body :raw :text \"x\" { discard; }",
     "COMPILE: 1:20: body takes one of :raw, :content and :text"},
};

static void test_body(void **state)
{
	run_cases(body_cases, G_N_ELEMENTS(body_cases), NULL, NULL);
}

static const Case date_cases[] = {
    {"date year", "require \"date\"; if date :is \"date\" \"year\" \"2004\" { discard; }",
     "discard"},
    {"date :originalzone hour",
     "require \"date\"; if date :originalzone :is \"date\" \"hour\" \"14\" { discard; }",
     "discard"},
    {"date utc hour", "require \"date\"; if date :is \"date\" \"hour\" \"21\" { discard; }",
     "discard"},
    {"date :zone",
     "require \"date\"; if date :zone \"+0200\" :is \"date\" \"time\" \"23:15:16\" { discard; }",
     "discard"},
    {"date zone part",
     "require \"date\"; if date :originalzone :is \"date\" \"zone\" \"-0700\" { discard; }",
     "discard"},
    {"date iso8601",
     "require \"date\"; if date :originalzone :is \"date\" \"iso8601\" "
     "\"2004-08-10T14:15:16-07:00\" { discard; }",
     "discard"},
    {"date std11",
     "require \"date\"; if date :originalzone :is \"date\" \"std11\" \"Tue, 10 Aug 2004 14:15:16 "
     "-0700\" { discard; }",
     "discard"},
    {"date weekday",
     "require \"date\"; if date :originalzone :is \"date\" \"weekday\" \"2\" { discard; }",
     "discard"},
    {"date julian",
     "require \"date\"; if date :originalzone :is \"date\" \"julian\" \"53227\" { discard; }",
     "discard"},
    {"date date", "require \"date\"; if date :is \"date\" \"date\" \"2004-08-10\" { discard; }",
     "discard"},
    {"date missing header",
     "require \"date\"; if date :is \"x-none\" \"year\" \"2004\" { discard; }", "implicit-keep"},
    {"date relational",
     "require [\"date\", \"relational\"]; if date :value \"ge\" \"date\" \"date\" \"2004-01-01\" { "
     "discard; }",
     "discard"},
    {"currentdate", "require \"date\"; if currentdate :is \"date\" \"2020-01-02\" { discard; }",
     "discard"},
    {"currentdate :zone",
     "require \"date\"; if currentdate :zone \"-0500\" :is \"hour\" \"22\" { discard; }",
     "discard"},
    {"bad date part", "require \"date\"; if currentdate :is \"fortnight\" \"1\" { discard; }",
     "COMPILE: 1:36: unknown date part 'fortnight'"},
    {"bad zone", "require \"date\"; if currentdate :zone \"CET\" \"hour\" \"1\" { discard; }",
     "COMPILE: 1:38: expected a zone as +hhmm or -hhmm"},
    /* RFC 5260 section 7 example, variables form */
    {"rfc5260 example",
     "require [\"date\", \"variables\", \"fileinto\"];\n"
     "if currentdate :matches \"month\" \"*\" { set \"month\" \"${1}\"; }\n"
     "if currentdate :matches \"year\"  \"*\" { set \"year\" \"${1}\"; }\n"
     "fileinto \"INBOX.sent.${year}.${month}\";",
     "fileinto:INBOX.sent.2020.01"},
};

static void test_date(void **state)
{
	/* 2020-01-02 03:04:05 UTC */
	DkSieveTestEnv env = {.now = 1577934245};
	run_cases(date_cases, G_N_ELEMENTS(date_cases), NULL, &env);
}

static const Case ticket_cases[] = {
    {"priority", "require \"vnd.docket.ticket\"; ticket_priority \"high\";",
     "ticket_priority:high; implicit-keep"},
    {"bad priority", "require \"vnd.docket.ticket\"; ticket_priority \"urgent\";",
     "COMPILE: 1:46: invalid value 'urgent' for ticket_priority: expected one of critical high "
     "medium low none"},
    {"status", "require \"vnd.docket.ticket\"; ticket_status \"on_hold\";",
     "ticket_status:on_hold; implicit-keep"},
    {"bad status", "require \"vnd.docket.ticket\"; ticket_status \"done\";",
     "COMPILE: 1:44: invalid value 'done' for ticket_status: expected one of new open in_progress "
     "waiting on_hold resolved closed"},
    {"assign, org, template, noack",
     "require \"vnd.docket.ticket\";\n"
     "ticket_assign \"bob@example.com\"; ticket_organisation \"ACME\"; ticket_template \"quiet\"; "
     "ticket_noack;",
     "ticket_assign:bob@example.com; ticket_organisation:ACME; ticket_template:quiet; "
     "ticket_noack; implicit-keep"},
    {"field from capture",
     "require [\"vnd.docket.ticket\", \"variables\"];\n"
     "if body :matches \"*server * is*\" { ticket_field \"device\" \"${2}\"; ticket_correlate "
     "\"down-${2}\"; }",
     "COMPILE: 2:4: 'body' needs require \"body\""},
    {"field and correlate",
     "require [\"vnd.docket.ticket\", \"variables\", \"body\"];\n"
     "if body :matches \"*server * is*\" { ticket_field \"device\" \"${2}\"; ticket_correlate "
     "\"down-${2}\"; }",
     "ticket_field:device:web01; ticket_correlate:down-web01; implicit-keep"},
    {"runtime invalid value",
     "require [\"vnd.docket.ticket\", \"variables\"]; set \"p\" \"meh\"; ticket_priority \"${p}\";",
     "ERROR: line 1: ticket_priority: invalid value 'meh'"},
    {"ticket_is_new", "require \"vnd.docket.ticket\"; if ticket_is_new { discard; }", "discard"},
    {"ticket_status test",
     "require \"vnd.docket.ticket\"; if ticket_status :is \"open\" { discard; }", "discard"},
    {"ticket_priority test",
     "require \"vnd.docket.ticket\"; if ticket_priority :matches \"h*\" { discard; }", "discard"},
    {"ticket_queue test",
     "require \"vnd.docket.ticket\"; if ticket_queue :contains \"sale\" { discard; }", "discard"},
    {"message_class", "require \"vnd.docket.ticket\"; if message_class \"agent\" { discard; }",
     "discard"},
    {"message_class no bounce",
     "require \"vnd.docket.ticket\"; if message_class [\"bounce\", \"spam\"] { discard; }",
     "implicit-keep"},
    {"message_class unknown",
     "require \"vnd.docket.ticket\"; if message_class \"robot\" { discard; }",
     "COMPILE: 1:47: unknown message class 'robot': expected auto_reply, auto_generated, bounce, "
     "bulk, agent, "
     "spam"},
    {"ticket_sla breached",
     "require \"vnd.docket.ticket\"; if ticket_sla \"breached\" { discard; }", "discard"},
    {"ticket_sla any of",
     "require \"vnd.docket.ticket\"; if ticket_sla [\"paused\", \"answered\"] "
     "{ discard; }",
     "implicit-keep"},
    {"ticket_sla matches",
     "require \"vnd.docket.ticket\"; if ticket_sla :matches \"*_breached\" { discard; }",
     "discard"},
    {"ticket_sla unknown", "require \"vnd.docket.ticket\"; if ticket_sla \"late\" { discard; }",
     "COMPILE: 1:44: unknown SLA state 'late': expected breached, first_response_breached, "
     "resolution_breached, paused, answered, no_target"},
    {"needs require", "ticket_noack;",
     "COMPILE: 1:1: 'ticket_noack' needs require \"vnd.docket.ticket\""},
};

static void test_ticket(void **state)
{
	DkSieveTicket t = {.is_new = TRUE,
	                   .status = "open",
	                   .priority = "high",
	                   .queue = "Sales",
	                   .is_agent = TRUE,
	                   .sla =
	                       (const char *const[]){"breached", "first_response_breached", NULL}};
	DkSieveTestEnv env = {.ticket = &t};
	run_cases(ticket_cases, G_N_ELEMENTS(ticket_cases), NULL, &env);
}

static void test_trace_and_lines(void **state)
{
	const char *src = "require \"fileinto\";\n"
	                  "if header :contains \"subject\" \"nomatch\" {\n  discard;\n}\n"
	                  "elsif anyof (false, header :contains \"subject\" \"acme\") {\n"
	                  "  fileinto \"Acme\";\n}\n";
	g_autoptr(DkSieveScript) script = dk_sieve_compile(src, -1, NULL, NULL);
	assert_non_null(script);
	g_autoptr(DkMessage) m = dk_sieve_test_message(DK_SIEVE_TEST_MESSAGE);
	DkSieveInput in = {.message = m};
	g_autoptr(DkSieveResult) r = dk_sieve_execute(script, &in);
	assert_null(r->error);
	assert_int_equal(r->trace->len, 4);
	const DkSieveTraceEntry *e0 = g_ptr_array_index(r->trace, 0);
	const DkSieveTraceEntry *e3 = g_ptr_array_index(r->trace, 3);
	assert_int_equal(e0->line, 2);
	assert_string_equal(e0->test, "header");
	assert_false(e0->result);
	assert_int_equal(e3->line, 5);
	assert_string_equal(e3->test, "anyof");
	assert_true(e3->result);
	assert_int_equal(r->fired_lines->len, 1);
	assert_int_equal(g_array_index(r->fired_lines, guint, 0), 6);
	assert_int_equal(r->actions->len, 1);
}

static void test_limits(void **state)
{
	/* Many variables: past the cap is a runtime error, never a crash. */
	GString *s = g_string_new("require \"variables\";\n");
	for (int i = 0; i < 300; i++)
		g_string_append_printf(s, "set \"v%d\" \"x\";\n", i);
	g_autofree char *src = g_string_free(s, FALSE);
	g_autofree char *got = dk_sieve_test_run(src, NULL, NULL);
	assert_string_equal(got, "ERROR: more than 256 variables");
	/* A string that keeps doubling is capped. */
	GString *d = g_string_new(
	    "require [\"variables\", \"fileinto\"]; set \"a\" \"0123456789abcdef\";\n");
	for (int i = 0; i < 20; i++)
		g_string_append(d, "set \"a\" \"${a}${a}\";\n");
	g_string_append(d, "set :length \"n\" \"${a}\"; fileinto \"${n}\";");
	g_autofree char *dsrc = g_string_free(d, FALSE);
	g_autofree char *dgot = dk_sieve_test_run(dsrc, NULL, NULL);
	assert_string_equal(dgot, "fileinto:65536");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_core),
	    cmocka_unit_test(test_envelope),
	    cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_imap4flags),
	    cmocka_unit_test(test_variables),
	    cmocka_unit_test(test_relational),
	    cmocka_unit_test(test_regex),
	    cmocka_unit_test(test_body),
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_ticket),
	    cmocka_unit_test(test_trace_and_lines),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
