/* The subjects of out-of-office and other automatic replies, by language:
 * the table dk_classify_auto_reply_subject() reads.
 *
 * To add a language, add its rows to auto_subjects[] below with its BCP 47
 * tag and a case in tests/parsers/test-classify.c. A PHRASE is compared
 * case-folded at the start of the subject and may be followed by anything,
 * so it must be unmistakable ("automatic reply"); a WORD ("absence") must
 * be followed by ":" or nothing ("Absence: ...", never "Absence policy");
 * an INFIX is found anywhere in the subject ("... is out of the office").
 * The phrases are what mail servers and clients put there in that language
 * (Exchange's and Outlook's "Automatic reply:" and its translations, the
 * vacation responders' defaults) and what people write by hand. */
#include "parsers/classify.h"

#include <string.h>

typedef enum { PHRASE, WORD, INFIX } Kind;

typedef struct {
	const char *lang; /* BCP 47: for the maintainer, not read by the code */
	Kind kind;
	const char *text;
} AutoSubject;

static const AutoSubject auto_subjects[] = {
    /* English */
    {"en", PHRASE, "out of office"},
    {"en", PHRASE, "out of the office"},
    {"en", PHRASE, "automatic reply"},
    {"en", PHRASE, "auto reply"},
    {"en", PHRASE, "auto-reply"},
    {"en", PHRASE, "autoreply"},
    {"en", PHRASE, "auto response"},
    {"en", PHRASE, "auto-response"},
    {"en", PHRASE, "automatic response"},
    {"en", PHRASE, "vacation reply"},
    {"en", PHRASE, "away from the office"},
    {"en", WORD, "absence"},
    {"en", WORD, "vacation"},
    {"en", WORD, "auto"},
    {"en", WORD, "oof"},
    {"en", WORD, "away"},
    {"en", INFIX, " is out of the office"}, /* Lotus Notes: "Jane Doe is out of ..." */
    /* German */
    {"de", PHRASE, "abwesenheitsnotiz"},
    {"de", PHRASE, "automatische antwort"},
    {"de", PHRASE, "automatische abwesenheitsnotiz"},
    {"de", PHRASE, "automatische rückantwort"},
    {"de", PHRASE, "nicht im büro"},
    {"de", WORD, "abwesend"},
    {"de", WORD, "urlaub"},
    /* French */
    {"fr", PHRASE, "réponse automatique"},
    {"fr", PHRASE, "reponse automatique"},
    {"fr", PHRASE, "absence du bureau"},
    {"fr", PHRASE, "absent du bureau"},
    {"fr", PHRASE, "absente du bureau"},
    {"fr", PHRASE, "je suis absent"},
    {"fr", PHRASE, "je suis absente"},
    {"fr", PHRASE, "message d'absence"},
    {"fr", PHRASE, "message d’absence"},
    {"fr", WORD, "vacances"},
    /* Spanish, Catalan */
    {"es", PHRASE, "respuesta automática"},
    {"es", PHRASE, "respuesta automatica"},
    {"es", PHRASE, "fuera de la oficina"},
    {"es", PHRASE, "fuera de oficina"},
    {"es", WORD, "ausente"},
    {"ca", PHRASE, "resposta automàtica"},
    {"ca", PHRASE, "fora de l'oficina"},
    /* Portuguese */
    {"pt", PHRASE, "resposta automática"},
    {"pt", PHRASE, "resposta automatica"},
    {"pt", PHRASE, "fora do escritório"},
    {"pt", WORD, "ausência"},
    /* Italian */
    {"it", PHRASE, "risposta automatica"},
    {"it", PHRASE, "fuori sede"},
    {"it", PHRASE, "fuori ufficio"},
    {"it", WORD, "assente"},
    /* Dutch */
    {"nl", PHRASE, "automatisch antwoord"},
    {"nl", PHRASE, "afwezigheidsbericht"},
    {"nl", PHRASE, "afwezigheidsmelding"},
    {"nl", PHRASE, "niet aanwezig"},
    {"nl", WORD, "afwezig"},
    /* Swedish, Danish, Norwegian, Icelandic, Finnish */
    {"sv", PHRASE, "automatiskt svar"},
    {"sv", PHRASE, "frånvaromeddelande"},
    {"sv", PHRASE, "ej på kontoret"},
    {"sv", WORD, "frånvaro"},
    {"da", PHRASE, "automatisk svar"},
    {"da", PHRASE, "automatisk besked"},
    {"da", PHRASE, "autosvar"},
    {"da", PHRASE, "ikke på kontoret"},
    {"da", WORD, "fraværende"},
    {"nb", PHRASE, "fraværsmelding"},
    {"nb", WORD, "fravær"},
    {"is", PHRASE, "sjálfvirkt svar"},
    {"fi", PHRASE, "automaattinen vastaus"},
    {"fi", PHRASE, "poissa toimistolta"},
    {"fi", WORD, "poissa"},
    /* Polish, Czech, Slovak, Hungarian, Slovenian, Croatian, Romanian */
    {"pl", PHRASE, "automatyczna odpowiedź"},
    {"pl", PHRASE, "odpowiedź automatyczna"},
    {"pl", PHRASE, "poza biurem"},
    {"pl", WORD, "nieobecność"},
    {"cs", PHRASE, "automatická odpověď"},
    {"cs", PHRASE, "mimo kancelář"},
    {"cs", WORD, "nepřítomnost"},
    {"sk", PHRASE, "automatická odpoveď"},
    {"sk", PHRASE, "mimo kancelárie"},
    {"sk", WORD, "neprítomnosť"},
    {"hu", PHRASE, "automatikus válasz"},
    {"hu", PHRASE, "házon kívül"},
    {"sl", PHRASE, "samodejni odgovor"},
    {"sl", PHRASE, "odsotnost"},
    {"hr", PHRASE, "automatski odgovor"},
    {"hr", PHRASE, "izvan ureda"},
    {"ro", PHRASE, "răspuns automat"},
    {"ro", PHRASE, "raspuns automat"},
    /* Baltic, Greek, Turkish, Cyrillic */
    {"et", PHRASE, "automaatne vastus"},
    {"et", PHRASE, "automaatvastus"},
    {"lv", PHRASE, "automātiskā atbilde"},
    {"lt", PHRASE, "automatinis atsakymas"},
    {"el", PHRASE, "αυτόματη απάντηση"},
    {"el", PHRASE, "εκτός γραφείου"},
    {"tr", PHRASE, "otomatik yanıt"},
    {"tr", PHRASE, "otomatik cevap"},
    {"ru", PHRASE, "автоответ"},
    {"ru", PHRASE, "автоматический ответ"},
    {"uk", PHRASE, "автоматична відповідь"},
    /* Chinese, Japanese, Korean */
    {"zh-Hans", PHRASE, "自动回复"},
    {"zh-Hans", PHRASE, "自动答复"},
    {"zh-Hans", PHRASE, "不在办公室"},
    {"zh-Hant", PHRASE, "自動回覆"},
    {"zh-Hant", PHRASE, "自動答覆"},
    {"zh-Hant", PHRASE, "不在辦公室"},
    {"ja", PHRASE, "自動返信"},
    {"ja", PHRASE, "自動応答"},
    {"ja", PHRASE, "不在通知"},
    {"ja", WORD, "不在"},
    {"ko", PHRASE, "자동 회신"},
    {"ko", PHRASE, "자동회신"},
    {"ko", PHRASE, "자동 응답"},
    {"ko", PHRASE, "자동응답"},
    {"ko", PHRASE, "부재중"},
    {"ko", PHRASE, "부재 중"},
};

/* The table's texts, case-folded once for the life of the process. */
static char **folded_texts(void)
{
	static char **folded;
	if (g_once_init_enter(&folded)) {
		char **f = g_new0(char *, G_N_ELEMENTS(auto_subjects) + 1);
		for (guint k = 0; k < G_N_ELEMENTS(auto_subjects); k++)
			f[k] = g_utf8_casefold(auto_subjects[k].text, -1);
		g_once_init_leave(&folded, f);
	}
	return folded;
}

/* A WORD stands alone: after it only blanks, then ":" (ASCII or
 * full-width) or the end. */
static gboolean word_ends(const char *rest)
{
	while (*rest == ' ' || *rest == '\t')
		rest++;
	return *rest == '\0' || *rest == ':' || g_str_has_prefix(rest, "：");
}

gboolean dk_classify_auto_reply_subject(const char *subject)
{
	if (subject == NULL)
		return FALSE;
	char **folded = folded_texts();
	g_autofree char *s = g_utf8_casefold(subject, -1);
	g_strstrip(s);
	for (guint k = 0; k < G_N_ELEMENTS(auto_subjects); k++) {
		const char *t = folded[k];
		switch (auto_subjects[k].kind) {
		case PHRASE:
			if (g_str_has_prefix(s, t))
				return TRUE;
			break;
		case WORD:
			if (g_str_has_prefix(s, t) && word_ends(s + strlen(t)))
				return TRUE;
			break;
		case INFIX:
			if (strstr(s, t) != NULL)
				return TRUE;
			break;
		}
	}
	return FALSE;
}
