/* Signatures checked and encrypted mail decrypted, with GMime's crypto
 * contexts (gpgme: GnuPG for OpenPGP, gpgsm for S/MIME).
 *
 * The parser (parsers/message-crypto.c) only recognises the structure;
 * this module, which runs gpg and reads keyrings, fills DkCrypto's result
 * fields. The keyrings are the administrator's: [crypto] gnupg_home, one
 * GnuPG home holding the OpenPGP keys and the S/MIME certificates (and the
 * secret keys for decryption). Without it nothing is checked: signed mail
 * stays DK_SIGNATURE_UNCHECKED and encrypted mail keeps its marker. */
#pragma once

#include "parsers/message.h"

#include <jansson.h>

G_BEGIN_DECLS

/* Makes home the GnuPG home of this process (GNUPGHOME, read by gpg and
 * gpgsm when GMime starts them). Call once at start, before any thread
 * checks a message; NULL or "" leaves crypto off. Returns whether crypto
 * is on. */
gboolean dk_crypto_setup(const char *home);

/* Whether dk_crypto_setup() turned crypto on. */
gboolean dk_crypto_enabled(void);

/* Checks the signature of *message (parsed from raw with options) and
 * decrypts it when a secret key is there: a decrypted message replaces
 * *message, parsed again from its outer header fields and the decrypted
 * content. Failures are never errors: they are what DkCrypto says
 * (status and detail). Does nothing for unprotected mail or when crypto
 * is off. Thread-safe as far as gpgme is. */
void dk_crypto_check(GBytes *raw, const DkParseOptions *options, DkMessage **message);

/* The same of a message read from the size bytes of the file fd (a
 * spool file): GMime reads the parts from the file, and for a message of
 * DK_PARSE_SPILL_MIN bytes or more the content a signature covers, the
 * encrypted or S/MIME signed-data content and the message made again
 * around what it holds go through files of options' spill, not memory
 * (without a spill, memory). */
void dk_crypto_check_fd(int fd, gsize size, const DkParseOptions *options, DkMessage **message);

/* The name of a signature status ("verified", "untrusted", "bad",
 * "no-key", "error", "unchecked"). */
const char *dk_signature_status_name(DkSignatureStatus status);

/* crypto as JSON: {"kind", "protocol", "decrypted", "signature",
 * "signer", "fingerprint", "detail"}; a new reference. */
json_t *dk_crypto_json(const DkCrypto *crypto);

G_END_DECLS
