/* The text of bench-scale's store: mail-like English, words drawn by
 * Zipf's law (the n-th most frequent word about 1/n as often as the first)
 * from a vocabulary of English words in their rough order of frequency,
 * then help-desk words, then a long tail of made-up names (products, hosts,
 * people) standing for the rare words of real mail. "the" is about one
 * word in ten, so it is in nearly every article. */
#pragma once

#include <glib.h>

#define DK_SCALE_TAIL 40000

static const char *const dk_scale_english[] = {
    "the",          "to",          "and",        "a",        "i",           "of",
    "is",           "it",          "you",        "in",       "that",        "we",
    "for",          "this",        "not",        "on",       "have",        "be",
    "with",         "my",          "can",        "please",   "are",         "our",
    "your",         "as",          "but",        "at",       "was",         "me",
    "from",         "if",          "do",         "will",     "an",          "or",
    "all",          "so",          "there",      "they",     "has",         "would",
    "no",           "thanks",      "by",         "what",     "when",        "get",
    "one",          "us",          "out",        "up",       "been",        "now",
    "about",        "any",         "could",      "some",     "just",        "also",
    "still",        "which",       "again",      "them",     "new",         "like",
    "see",          "know",        "need",       "did",      "after",       "only",
    "time",         "hello",       "regards",    "error",    "issue",       "problem",
    "account",      "email",       "working",    "help",     "since",       "today",
    "access",       "order",       "invoice",    "login",    "password",    "update",
    "server",       "payment",     "page",       "file",     "team",        "customer",
    "support",      "ticket",      "message",    "user",     "report",      "system",
    "data",         "phone",       "network",    "printer",  "laptop",      "screen",
    "service",      "request",     "version",    "attached", "shows",       "tried",
    "later",        "restart",     "connection", "office",   "monday",      "friday",
    "yesterday",    "morning",     "week",       "refund",   "delivery",    "shipping",
    "contract",     "license",     "renewal",    "upgrade",  "install",     "download",
    "backup",       "database",    "timeout",    "slow",     "crash",       "freezes",
    "blank",        "missing",     "wrong",      "broken",   "urgent",      "asap",
    "meeting",      "calendar",    "mailbox",    "vpn",      "wifi",        "router",
    "firewall",     "certificate", "expired",    "renew",    "billing",     "charge",
    "credit",       "card",        "address",    "changed",  "settings",    "browser",
    "chrome",       "firefox",     "windows",    "linux",    "mac",         "android",
    "iphone",       "app",         "mobile",     "sync",     "folder",      "shared",
    "drive",        "permission",  "denied",     "locked",   "reset",       "confirm",
    "confirmed",    "waiting",     "response",   "reply",    "call",        "number",
    "reference",    "quote",       "price",      "discount", "cancel",      "cancelled",
    "subscription", "plan",        "trial",      "feature",  "bug",         "fix",
    "fixed",        "patch",       "release",    "deploy",   "outage",      "incident",
    "monitoring",   "alert",       "disk",       "memory",   "cpu",         "load",
    "latency",      "api",         "token",      "key",      "integration", "webhook",
    "export",       "import",      "csv",        "pdf",      "spreadsheet", "document",
    "signature",    "scan",
};

/* The vocabulary: the English words above, then DK_SCALE_TAIL made-up
 * words, with cumulative Zipf weights. */
typedef struct {
	GPtrArray *words;
	double *cumulative;
} DkScaleVocabulary;

static inline DkScaleVocabulary dk_scale_vocabulary(void)
{
	static const char *const syllables[] = {"ka", "lo", "mi",  "ne",  "ru",  "sa",  "te",
	                                        "vo", "zi", "pa",  "dor", "fen", "gil", "hak",
	                                        "ju", "br", "cly", "wen", "tor", "qua", "x"};
	DkScaleVocabulary v = {g_ptr_array_new_with_free_func(g_free), NULL};
	for (guint i = 0; i < G_N_ELEMENTS(dk_scale_english); i++)
		g_ptr_array_add(v.words, g_strdup(dk_scale_english[i]));
	g_autoptr(GRand) rand = g_rand_new_with_seed(1);
	for (guint i = 0; i < DK_SCALE_TAIL; i++) {
		GString *w = g_string_new(NULL);
		int n = 2 + g_rand_int_range(rand, 0, 3);
		for (int s = 0; s < n; s++)
			g_string_append(
			    w, syllables[g_rand_int_range(rand, 0, G_N_ELEMENTS(syllables))]);
		g_string_append_printf(w, "%u", i % 100); /* distinct enough */
		g_ptr_array_add(v.words, g_string_free(w, FALSE));
	}
	v.cumulative = g_new(double, v.words->len);
	double total = 0;
	for (guint i = 0; i < v.words->len; i++) {
		total += 1.0 / (i + 1);
		v.cumulative[i] = total;
	}
	for (guint i = 0; i < v.words->len; i++)
		v.cumulative[i] /= total;
	return v;
}

static inline void dk_scale_vocabulary_free(DkScaleVocabulary *v)
{
	g_ptr_array_unref(v->words);
	g_free(v->cumulative);
}

/* A word drawn by Zipf's law from the ranks at or above from. */
static inline const char *dk_scale_word(const DkScaleVocabulary *v, GRand *rand, guint from)
{
	double lo_w = from ? v->cumulative[from - 1] : 0;
	double x = lo_w + g_rand_double(rand) * (1 - lo_w);
	guint lo = from, hi = v->words->len - 1;
	while (lo < hi) {
		guint mid = (lo + hi) / 2;
		if (v->cumulative[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return g_ptr_array_index(v->words, lo);
}

/* words words, in sentences of 6 to 17 with a capital and a full stop. */
static inline void dk_scale_text(GString *out, const DkScaleVocabulary *v, GRand *rand, guint words)
{
	guint left_in_sentence = 0;
	for (guint i = 0; i < words; i++) {
		const char *w = dk_scale_word(v, rand, 0);
		if (left_in_sentence == 0) {
			if (i > 0)
				g_string_append(out, ". ");
			left_in_sentence = 6 + g_rand_int_range(rand, 0, 12);
			g_string_append_c(out, g_ascii_toupper(w[0]));
			g_string_append(out, w + 1);
		} else {
			g_string_append_c(out, ' ');
			g_string_append(out, w);
		}
		left_in_sentence--;
	}
	g_string_append_c(out, '.');
}
