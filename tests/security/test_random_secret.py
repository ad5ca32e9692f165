"""Point 6: the threading secret and the random parts of published
identifiers come from the kernel's CSPRNG. The attack: GLib's g_random_*
is a Mersenne Twister; its outputs are published (Message-IDs, Maildir
names, MIME boundaries), so after a few hundred notifications an attacker
knows its state and, if the secret came from it, the secret, and can
forge docket Message-IDs for any ticket. The test makes GLib's generator
fully known (LD_PRELOAD) and checks that nothing docket makes follows it."""

import os
import re
import unittest

from seclib import DOMAIN, SUPPORT, DocketCase, mail, sent_mail

KNOWN = os.environ.get("DOCKET_KNOWN_GRAND")


@unittest.skipIf(not KNOWN, "DOCKET_KNOWN_GRAND not set (run through ctest)")
class RandomSecretTest(DocketCase):
    config_text = "[threading]\ndomain = %s\n[notify]\nfrom = %s\n" % (DOMAIN, SUPPORT)

    def docket_known(self, *args, stdin=b""):
        env = dict(os.environ)
        env["LD_PRELOAD"] = KNOWN
        # AddressSanitizer wants its runtime first; the interposer goes first.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
        import subprocess
        from seclib import BINARY
        proc = subprocess.run([BINARY, "-c", self.config, *args], input=stdin, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        return proc

    def test_known_glib_generator_reveals_nothing(self):
        for n in range(2):
            self.docket_known("deliver", stdin=mail("ann%d@example.org" % n, "Printer %d" % n,
                                                    "p%d@example.org" % n))
        self.docket_known("outbox", "run", "--once")
        with open(os.path.join(self.data, "secret"), "rb") as f:
            secret = f.read()
        # What the secret would be were it drawn from the known generator.
        self.assertNotIn(b"AAAA" * 2, secret)
        sent = sent_mail(self.data)
        self.assertEqual(len(sent), 2)
        randoms = []
        for name, m in sent:
            self.assertNotIn("41414141", name)
            found = re.match(r"<docket\.\d+\.([0-9a-f]{16})\.[0-9a-f]{16}@", m["Message-ID"])
            self.assertIsNotNone(found, m["Message-ID"])
            randoms.append(found.group(1))
        self.assertNotIn("4141414141414141", randoms)
        self.assertNotEqual(randoms[0], randoms[1])


if __name__ == "__main__":
    unittest.main()
