"""Shared by the tests of connectors whose credentials file holds one
api_key (OpsPilot, Omnidesk): requests reduced to what a test compares, and
the checks each such connector must pass — `docket connector check`
succeeds without writing, refuses a wrong or missing key without showing
it and creates nothing, and `config dump` never shows the key."""

from dockettest import write_secret


def normalised(reqs, text_keys, where="path"):
    """(method, path or route, JSON body) per request, the text_keys of
    the body stripped (docket keeps the article's trailing newline)."""
    out = []
    for r in reqs:
        body = r.json()
        for k in text_keys:
            if isinstance(body, dict) and k in body:
                body[k] = body[k].strip()
        out.append((r.method, getattr(r, where), body))
    return out


class KeyChecks:
    """Mixed into a ConnectorCase; key is the valid key, bad_key one the
    system refuses."""

    key = None
    bad_key = None

    def write_credentials(self, text):
        write_secret(self.dir + "/credentials", text)

    def test_check_ok_creates_nothing(self):
        proc = self.docket("connector", "check", "desk")
        self.assertIn("desk: authenticated", proc.stdout.decode())
        self.assertIn("desk: ok", proc.stdout.decode())
        self.assertEqual(self.mock.writes(), [])

    def test_check_with_a_bad_key_creates_nothing(self):
        self.write_credentials("api_key = %s\n" % self.bad_key)
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        out, err = proc.stdout.decode(), proc.stderr.decode()
        self.assertIn("the API key was refused", out)
        self.assertIn("HTTP 401", err)
        self.assertNotIn(self.bad_key, out + err)
        self.assertTrue(self.mock.requests)
        self.assertEqual(self.mock.writes(), [])
        self.assertEqual(self.mock.tickets, {})

    def test_check_reports_a_missing_key(self):
        self.write_credentials("# no key\n")
        proc = self.docket("connector", "check", "desk", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("the credentials file needs api_key", proc.stderr.decode())
        self.assertEqual(self.mock.requests, [])

    def test_config_dump_has_no_key(self):
        out = self.docket("config", "dump").stdout.decode()
        self.assertIn("credentials_file = %s/credentials" % self.dir, out)
        self.assertNotIn(self.key, out)
