/* Splits the plain text of a reply into its new text and the quoted history
 * and signature under it, by classifying each line. No regular expressions:
 * each line is examined a bounded number of times. */
#include "parsers/reply.h"
#include "parsers/reply-private.h"

#include <string.h>

#define MAX_ATTRIBUTION_LINE 400 /* longer lines are never attribution lines */
#define ATTRIBUTION_LINES 3      /* an attribution wraps over at most this many */
#define HEADER_BLOCK_LOOKAHEAD 12
/* How many non-blank lines a signature may have, by what starts it. */
#define SIG_LINES_SEPARATOR 40 /* "-- " */
#define SIG_LINES_FOOTER 10    /* a "____" rule over a mailing-list footer */
#define SIG_LINES_CLIENT 3     /* "Sent from my iPhone" */
#define SIG_LINES_NAME 1       /* "-Name" */

typedef enum {
	K_BLANK,
	K_TEXT,
	K_QUOTE,   /* "> " lines and the attribution above them */
	K_SIG,     /* a signature block */
	K_HISTORY, /* from a start-of-history marker to the end */
} Kind;

typedef enum { F_NONE, F_FROM, F_SENT, F_TO, F_SUBJECT, F_CC } Field;

typedef struct {
	const char *name;
	Field field;
} FieldName;

/* Field names of the header blocks that Outlook and other clients put above
 * the original message, in the languages they localise them to. */
static const FieldName field_names[] = {
    {"from", F_FROM},
    {"von", F_FROM},
    {"de", F_FROM},
    {"van", F_FROM},
    {"da", F_FROM},
    {"od", F_FROM},
    {"från", F_FROM},
    {"fra", F_FROM},
    {"lähettäjä", F_FROM},
    {"От", F_FROM},
    {"发件人", F_FROM},
    {"寄件者", F_FROM},
    {"差出人", F_FROM},
    {"kimden", F_FROM},
    {"feladó", F_FROM},
    {"odesílatel", F_FROM},
    {"sent", F_SENT},
    {"date", F_SENT},
    {"gesendet", F_SENT},
    {"datum", F_SENT},
    {"envoyé", F_SENT},
    {"envoye", F_SENT},
    {"verzonden", F_SENT},
    {"enviado", F_SENT},
    {"fecha", F_SENT},
    {"inviato", F_SENT},
    {"data", F_SENT},
    {"wysłano", F_SENT},
    {"skickat", F_SENT},
    {"sendt", F_SENT},
    {"Отправлено", F_SENT},
    {"Дата", F_SENT},
    {"发送时间", F_SENT},
    {"日期", F_SENT},
    {"寄件日期", F_SENT},
    {"送信日時", F_SENT},
    {"tarih", F_SENT},
    {"päivämäärä", F_SENT},
    {"odesláno", F_SENT},
    {"to", F_TO},
    {"an", F_TO},
    {"à", F_TO},
    {"À", F_TO},
    {"a", F_TO},
    {"aan", F_TO},
    {"para", F_TO},
    {"do", F_TO},
    {"till", F_TO},
    {"til", F_TO},
    {"Кому", F_TO},
    {"收件人", F_TO},
    {"宛先", F_TO},
    {"kime", F_TO},
    {"vastaanottaja", F_TO},
    {"komu", F_TO},
    {"címzett", F_TO},
    {"subject", F_SUBJECT},
    {"betreff", F_SUBJECT},
    {"objet", F_SUBJECT},
    {"onderwerp", F_SUBJECT},
    {"asunto", F_SUBJECT},
    {"oggetto", F_SUBJECT},
    {"temat", F_SUBJECT},
    {"Ämne", F_SUBJECT},
    {"emne", F_SUBJECT},
    {"Тема", F_SUBJECT},
    {"主题", F_SUBJECT},
    {"主旨", F_SUBJECT},
    {"件名", F_SUBJECT},
    {"konu", F_SUBJECT},
    {"aihe", F_SUBJECT},
    {"předmět", F_SUBJECT},
    {"tárgy", F_SUBJECT},
    {"cc", F_CC},
    {"kopie", F_CC},
    {"copie", F_CC},
    {"cópia", F_CC},
    {"copia", F_CC},
    {"kopia", F_CC},
};

/* "-----Original Message-----" and its translations. */
static const char *const original_markers[] = {
    "original message",
    "ursprüngliche nachricht",
    "original-nachricht",
    "originalnachricht",
    "message d'origine",
    "message original",
    "mensaje original",
    "oorspronkelijk bericht",
    "origineel bericht",
    "messaggio originale",
    "oryginalna wiadomość",
    "wiadomość oryginalna",
    "originalmeddelande",
    "ursprungligt meddelande",
    "opprinnelig melding",
    "original meddelelse",
    "oprindelig meddelelse",
    "alkuperäinen viesti",
    "mensagem original",
    "původní zpráva",
    "pôvodná správa",
    "eredeti üzenet",
    "Исходное сообщение",
    "Исходное письмо",
    "原始邮件",
    "原始郵件",
    "元のメッセージ",
    "orijinal mesaj",
    "reply message",
};

/* How attribution lines start ("On <date>, <name> wrote:" and kin). A
 * leading digit (a date first, as Android and Gmail in several languages
 * write it) counts too. */
static const char *const attribution_prefixes[] = {
    "on ",  "am ",  "le ", "el ", "op ", "il ", "w dniu ", "em ",
    "den ", "dne ", "en ", "på ", "в ",  "在",  "于",
};

/* The verb of an attribution line; it must not follow a letter. */
static const char *const attribution_verbs[] = {
    "wrote",   "writes",     "schrieb",   "a écrit",      "escribió", "escribio",
    "schreef", "ha scritto", "scrisse",   "pisze",        "napisał",  "napisal",
    "написал", "skrev",      "kirjoitti", "escreveu",     "napsal",   "yazdı",
    "írta",    "写道",       "寫道",      "のメッセージ",
};

/* Lines that mail clients add under the new text, as signatures. */
static const char *const client_signatures[] = {
    "sent from my ",
    "sent from mail for windows",
    "sent from outlook",
    "sent from yahoo mail",
    "sent from samsung",
    "sent from iphone",
    "sent from ipad",
    "sent from android",
    "sent from gmail mobile",
    "sent from mobile",
    "sent via ",
    "sent with ",
    "sent using ",
    "get outlook for ",
    "envoyé de mon ",
    "envoyé depuis ",
    "envoyé à partir de ",
    "envoyé de ",
    "von meinem ",
    "gesendet von meinem ",
    "gesendet von ",
    "gesendet mit ",
    "verstuurd vanaf mijn ",
    "verzonden vanaf mijn ",
    "verzonden met ",
    "enviado desde mi ",
    "enviado desde ",
    "enviado do meu ",
    "enviado de meu ",
    "enviado de mi ",
    "inviato da ",
    "inviato dal mio ",
    "wysłane z mojego ",
    "wysłano z ",
    "skickat från min ",
    "sendt fra min ",
    "lähetetty ",
    "Отправлено с ",
    "Отправлено из ",
    "从我的",
    "发自我的",
    "iphoneから送信",
};

static const DkReplyLine *line_at(GArray *lines, guint i)
{
	return &g_array_index(lines, DkReplyLine, i);
}

static gboolean has_prefix_ci(const char *p, gsize len, const char *prefix)
{
	gsize n = strlen(prefix);
	return n <= len && g_ascii_strncasecmp(p, prefix, n) == 0;
}

static gboolean is_quote(const DkReplyLine *l)
{
	gsize i = dk_reply_line_ltrim(l);
	return i < l->len && l->p[i] == '>';
}

/* The colon after a field name or at the end of an attribution: ASCII or
 * full width (U+FF1A). Returns its length, or 0. */
static gsize colon_at(const char *p, gsize avail)
{
	if (avail >= 1 && p[0] == ':')
		return 1;
	if (avail >= 3 && memcmp(p, "\xEF\xBC\x9A", 3) == 0)
		return 3;
	return 0;
}

static gboolean ends_with_colon(const char *p, gsize len)
{
	return (len >= 1 && p[len - 1] == ':') ||
	       (len >= 3 && memcmp(p + len - 3, "\xEF\xBC\x9A", 3) == 0);
}

/* "-----Original Message-----", "----- Mensaje original -----" ... */
static gboolean is_original_marker(const DkReplyLine *l)
{
	gsize i = dk_reply_line_ltrim(l), end = dk_reply_line_rtrim(l), dashes = 0;
	while (i < end && l->p[i] == '-')
		i++, dashes++;
	if (dashes < 2)
		return FALSE;
	while (i < end && l->p[i] == ' ')
		i++;
	while (end > i && (l->p[end - 1] == '-' || l->p[end - 1] == ' '))
		end--;
	for (guint k = 0; k < G_N_ELEMENTS(original_markers); k++) {
		gsize n = strlen(original_markers[k]);
		if (end - i == n && g_ascii_strncasecmp(l->p + i, original_markers[k], n) == 0)
			return TRUE;
	}
	return FALSE;
}

/* The field of a header line such as "From: ...", "*Von:* ..." or
 * "De : ...", or F_NONE. */
static Field header_field(const DkReplyLine *l)
{
	const char *p = l->p;
	gsize n = l->len, i = dk_reply_line_ltrim(l), w;
	while (i < n && p[i] == '*')
		i++;
	gsize start = i;
	while (i < n && i - start < 40 && p[i] != ':' && p[i] != '*' && p[i] != ' ' &&
	       p[i] != '\t' && colon_at(p + i, n - i) == 0 &&
	       !(i + 1 < n && (guchar)p[i] == 0xC2 && (guchar)p[i + 1] == 0xA0))
		i++;
	gsize name_len = i - start;
	if (name_len == 0 || name_len >= 40)
		return F_NONE;
	for (;;) {
		DkReplyLine rest = {p + i, n - i};
		if (i < n && p[i] == '*')
			i++;
		else if ((w = dk_reply_line_ltrim(&rest)) > 0)
			i += w;
		else
			break;
	}
	if (colon_at(p + i, n - i) == 0)
		return F_NONE;
	for (guint k = 0; k < G_N_ELEMENTS(field_names); k++) {
		if (strlen(field_names[k].name) == name_len &&
		    g_ascii_strncasecmp(p + start, field_names[k].name, name_len) == 0)
			return field_names[k].field;
	}
	return F_NONE;
}

/* An Outlook-style block of header lines starting at line i: a From field
 * and at least two other fields, in consecutive lines (a wrapped value may
 * take up to two more lines). */
static gboolean is_header_block(GArray *lines, guint i)
{
	Field f = header_field(line_at(lines, i));
	if (f == F_NONE)
		return FALSE;
	guint seen = 1u << f, gap = 0;
	for (guint j = i + 1; j < lines->len && j <= i + HEADER_BLOCK_LOOKAHEAD; j++) {
		const DkReplyLine *l = line_at(lines, j);
		if (dk_reply_line_is_blank(l))
			break;
		Field g = header_field(l);
		if (g == F_NONE) {
			if (++gap > 2)
				break;
			continue;
		}
		gap = 0;
		seen |= 1u << g;
	}
	guint fields = 0;
	for (guint b = seen; b != 0; b &= b - 1)
		fields++;
	return (seen & (1u << F_FROM)) != 0 && fields >= 3;
}

/* What an attribution candidate looks like. */
typedef struct {
	gboolean soft;   /* an attribution if "> " lines follow it */
	gboolean strong; /* an attribution even without "> " lines under it */
} Attribution;

static gboolean find_verb(const char *s, gsize n)
{
	for (guint k = 0; k < G_N_ELEMENTS(attribution_verbs); k++) {
		const char *v = attribution_verbs[k];
		gsize vl = strlen(v);
		for (const char *q = s; q + vl <= s + n; q++) {
			q = memchr(q, v[0], (gsize)(s + n - q));
			if (q == NULL || q + vl > s + n)
				break;
			if (memcmp(q, v, vl) == 0 && (q == s || !g_ascii_isalpha(q[-1])))
				return TRUE;
		}
	}
	return FALSE;
}

static gboolean starts_attribution(const char *s, gsize n)
{
	if (n > 0 && g_ascii_isdigit(s[0]))
		return TRUE;
	for (guint k = 0; k < G_N_ELEMENTS(attribution_prefixes); k++)
		if (has_prefix_ci(s, n, attribution_prefixes[k]))
			return TRUE;
	return FALSE;
}

/* Where the words of a line start, past decoration such as "--- " or "*". */
static gsize skip_decoration(const DkReplyLine *l)
{
	gsize i = dk_reply_line_ltrim(l);
	while (i < l->len && (l->p[i] == '-' || l->p[i] == '*' || l->p[i] == '_' || l->p[i] == ' '))
		i++;
	return i;
}

/* Judges lines[s..j] joined by spaces as an attribution line. */
static Attribution judge_attribution(GArray *lines, guint s, guint j)
{
	Attribution a = {FALSE, FALSE};
	g_autoptr(GString) joined = g_string_new(NULL);
	for (guint k = s; k <= j; k++) {
		const DkReplyLine *l = line_at(lines, k);
		gsize from = k == s ? skip_decoration(l) : dk_reply_line_ltrim(l);
		gsize to = dk_reply_line_rtrim(l);
		if (to - from > MAX_ATTRIBUTION_LINE || to <= from)
			return a;
		if (joined->len > 0)
			g_string_append_c(joined, ' ');
		g_string_append_len(joined, l->p + from, to - from);
	}
	const char *t = joined->str;
	gsize n = joined->len;
	if (!ends_with_colon(t, n))
		return a;
	for (gsize k = 0; k < n; k++)
		joined->str[k] = g_ascii_tolower(t[k]);
	gboolean prefix = starts_attribution(t, n), verb = find_verb(t, n);
	gboolean digit = FALSE, at = memchr(t, '@', n) != NULL;
	for (gsize k = 0; k < n && !digit; k++)
		digit = g_ascii_isdigit(t[k]);
	/* A date and an address over "> " lines, even without a verb:
	 * "2012年4月2日 18:26 Bob <bob@example.com>:" (Gmail in Japanese). */
	a.soft = (verb && (prefix || digit || at)) || (digit && at);
	a.strong = verb && prefix && digit;
	return a;
}

/* Looks for an attribution that ends at line j, within its paragraph;
 * prefers the longest one whose first line starts like one. */
static gboolean find_attribution(GArray *lines, guint j, guint *start_out, Attribution *a_out)
{
	const DkReplyLine *last = line_at(lines, j);
	if (!ends_with_colon(last->p, dk_reply_line_rtrim(last)))
		return FALSE;
	guint floor = j;
	while (floor > 0 && j - floor < ATTRIBUTION_LINES - 1 &&
	       !dk_reply_line_is_blank(line_at(lines, floor - 1)) &&
	       !is_quote(line_at(lines, floor - 1)))
		floor--;
	for (guint k = j - floor + 1; k-- > 0;) {
		guint s = j - k;
		if (k > 0) {
			const DkReplyLine *first = line_at(lines, s);
			gsize i = skip_decoration(first);
			if (!starts_attribution(first->p + i, first->len - i))
				continue;
		}
		Attribution a = judge_attribution(lines, s, j);
		if (a.soft || a.strong) {
			*start_out = s;
			*a_out = a;
			return TRUE;
		}
	}
	return FALSE;
}

/* "-Name" or "-- Name": a short name under a dash, as a signature. */
static gboolean is_dash_name(const char *p, gsize n)
{
	gsize i = 1;
	if (n < 2 || p[0] != '-')
		return FALSE;
	if (p[1] == '-')
		i = (n > 2 && p[2] == ' ') ? 3 : 2;
	if (n - i > 40 || i >= n)
		return FALSE;
	guint words = 0;
	gboolean word_start = TRUE;
	for (; i < n; i++) {
		guchar c = (guchar)p[i];
		if (c == ' ') {
			word_start = TRUE;
			continue;
		}
		if (word_start) {
			if (!(g_ascii_isupper(c) || c >= 0x80))
				return FALSE;
			words++;
			word_start = FALSE;
		} else if (!(g_ascii_isalpha(c) || c >= 0x80 || c == '.' || c == '\'' ||
		             c == '-')) {
			return FALSE;
		}
	}
	return words > 0 && words <= 4;
}

/* "Sent from my iPhone" and the like: a known opening and a short rest
 * that is not a sentence ("Sent from my desk, is much easier..." is not). */
static gboolean is_client_signature(const char *p, gsize n)
{
	if (n == 0)
		return FALSE;
	char first = g_ascii_tolower(p[0]); /* most lines: no opening starts so */
	for (guint k = 0; k < G_N_ELEMENTS(client_signatures); k++) {
		if (client_signatures[k][0] != first || !has_prefix_ci(p, n, client_signatures[k]))
			continue;
		gsize kl = strlen(client_signatures[k]);
		const char *rest = p + kl;
		gsize rl = n - kl, words = rl > 0;
		if (rl > 80)
			return FALSE;
		for (gsize i = 0; i < rl; i++) {
			if (rest[i] == ',' || rest[i] == ';' ||
			    (rest[i] == '.' && i + 1 < rl && rest[i + 1] == ' '))
				return FALSE;
			words += rest[i] == ' ';
		}
		return words <= 8;
	}
	return FALSE;
}

/* When the line starts a signature, how many non-blank lines (itself
 * included) that signature may have; 0 when it starts none. "-- " is the
 * separator of RFC 3676 section 4.3; "--" without the space is common. */
static guint signature_limit(const char *p, gsize len)
{
	DkReplyLine l = {p, len};
	gsize n = dk_reply_line_rtrim(&l);
	if (n == 2 && p[0] == '-' && p[1] == '-')
		return SIG_LINES_SEPARATOR;
	if (n >= 2 && strspn(p, "_") >= n)
		return SIG_LINES_FOOTER;
	if (is_client_signature(p, n))
		return SIG_LINES_CLIENT;
	if (is_dash_name(p, n))
		return SIG_LINES_NAME;
	return 0;
}

gboolean dk_reply_is_signature_line(const char *line, gsize len)
{
	return line != NULL && signature_limit(line, len) > 0;
}

/* History starts at line h, or at a rule line just above it. */
static guint history_start(GArray *lines, guint h)
{
	guint j = h;
	while (j > 0 && dk_reply_line_is_blank(line_at(lines, j - 1)))
		j--;
	if (j > 0 && dk_reply_line_is_rule(line_at(lines, j - 1)))
		return j - 1;
	return h;
}

static gboolean next_is_quote(GArray *lines, guint j)
{
	while (j < lines->len && dk_reply_line_is_blank(line_at(lines, j)))
		j++;
	return j < lines->len && is_quote(line_at(lines, j));
}

/* The scan's state: an open signature block, if any. */
typedef struct {
	guint start; /* G_MAXUINT: none open */
	guint count; /* its non-blank lines so far */
	guint limit;
	guint not_at; /* a line found not to start a signature after all */
} SigState;

/* Classifies the line at i that is neither blank nor a quote nor history.
 * Returns the next line to look at. */
static guint classify_text_line(GArray *lines, Kind *kind, guint i, SigState *sig)
{
	guint s;
	Attribution a;
	if (find_attribution(lines, i, &s, &a)) {
		if (next_is_quote(lines, i + 1)) {
			for (guint k = s; k <= i; k++)
				kind[k] = K_QUOTE;
			sig->start = G_MAXUINT;
			return i + 1;
		}
		if (a.strong) {
			for (guint k = history_start(lines, s); k < lines->len; k++)
				kind[k] = K_HISTORY;
			return lines->len;
		}
	}
	const DkReplyLine *l = line_at(lines, i);
	guint limit = i == sig->not_at ? 0 : signature_limit(l->p, l->len);
	if (sig->start != G_MAXUINT) {
		kind[i] = K_SIG;
		/* A second marker (a list footer under "-Name") extends it. */
		sig->limit = MAX(sig->limit, sig->count + limit);
		if (++sig->count <= sig->limit)
			return i + 1;
		/* Too long for a signature: the marker was ordinary text. */
		guint again = sig->start + 1;
		kind[sig->start] = K_TEXT;
		sig->not_at = sig->start;
		sig->start = G_MAXUINT;
		return again;
	}
	if (limit > 0) {
		*sig = (SigState){i, 1, limit, sig->not_at};
		kind[i] = K_SIG;
		return i + 1;
	}
	kind[i] = K_TEXT;
	return i + 1;
}

static void classify_lines(GArray *lines, Kind *kind)
{
	SigState sig = {G_MAXUINT, 0, 0, G_MAXUINT};
	guint i = 0;
	while (i < lines->len) {
		const DkReplyLine *l = line_at(lines, i);
		if (dk_reply_line_is_blank(l) || is_quote(l)) {
			kind[i] = is_quote(l) ? K_QUOTE : K_BLANK;
			if (kind[i] == K_QUOTE)
				sig.start = G_MAXUINT;
			i++;
			continue;
		}
		if (is_original_marker(l) || is_header_block(lines, i)) {
			for (guint k = history_start(lines, i); k < lines->len; k++)
				kind[k] = K_HISTORY;
			return;
		}
		i = classify_text_line(lines, kind, i, &sig);
	}
}

void dk_reply_split(const char *text, char **new_text_out, char **quoted_text_out)
{
	g_autoptr(GArray) lines = dk_reply_lines_split(text);
	guint n = lines->len;
	g_autofree Kind *kind = g_new0(Kind, n + 1);
	classify_lines(lines, kind);

	guint first = n, last = n;
	for (guint i = 0; i < n; i++) {
		if (kind[i] == K_TEXT) {
			if (first == n)
				first = i;
			last = i;
		}
	}
	guint start = 0, end = 0;
	if (first < n) {
		end = last + 1;
		gboolean interleaved = FALSE;
		for (guint i = first; i < end; i++)
			interleaved = interleaved || kind[i] == K_QUOTE;
		/* An inline reply keeps the quotes it answers as context; a
		 * bottom post loses the quote above it. */
		start = interleaved ? 0 : first;
	}
	GString *fresh = g_string_new(NULL), *quoted = g_string_new(NULL);
	dk_reply_lines_append(fresh, lines, start, end, TRUE);
	dk_reply_lines_append(quoted, lines, 0, start, FALSE);
	dk_reply_lines_append(quoted, lines, end, n, FALSE);
	*new_text_out = dk_reply_trim_blank(g_string_free(fresh, FALSE));
	*quoted_text_out = dk_reply_trim_blank(g_string_free(quoted, FALSE));
}
