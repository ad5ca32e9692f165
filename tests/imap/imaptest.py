"""A private Dovecot for docket's IMAP tests: its own configuration, TLS
certificate, passwd-file users and Maildirs in a temporary folder, implicit
TLS and plain/STARTTLS listeners on free loopback ports. Tests put mail into
the Maildirs directly and read the folders back from disk."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP_BINARY = "/usr/lib/dovecot/imap"
PASSWORD = "s3cret-pass"
NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")  # fast to make
MAIL_UID = 65534  # nobody: Dovecot refuses to serve mail as root


def available():
    """Why Dovecot cannot run here, or None."""
    if not os.path.exists(DOVECOT) or not os.path.exists(IMAP_BINARY):
        return "dovecot-imapd is not installed"
    if shutil.which("openssl") is None:
        return "openssl is not installed"
    if os.geteuid() != 0:
        return "the Dovecot tests run as root"
    return None


def skip_unless_available():
    why = available()
    if why is not None:
        print("skipped: %s" % why)
        sys.exit(77)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{dir}/{server_cert}
ssl_key = <{dir}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
mail_location = maildir:{dir}/mail/%u
first_valid_uid = 1
shutdown_clients = yes
verbose_proctitle = yes
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 1 mins
{oauth}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


OAUTH_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {dir}/oauth2.conf.ext
}}
"""

OAUTH_CONFIG = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""


class Dovecot:
    """One Dovecot instance; users user1..user20 with password PASSWORD.
    With introspection_url, XOAUTH2 tokens are checked there (RFC 7662)."""

    def __init__(self, users=20, introspection_url=None, chain=False):
        self.dir = tempfile.mkdtemp(prefix="docket-dovecot-")
        os.chmod(self.dir, 0o755)
        self.plain_port = free_port()
        self.tls_port = free_port()
        self.config = os.path.join(self.dir, "dovecot.conf")
        # self.cert is what a client must trust: the self-signed server
        # certificate, or with chain=True the root of root -> intermediate
        # -> server, the server sending its certificate and the
        # intermediate's.
        self.cert = os.path.join(self.dir, "cert.pem")
        if chain:
            self.make_chain()
        else:
            self.openssl("req", "-x509", *NEW_KEY, "-nodes",
                         "-keyout", "key.pem", "-out", "cert.pem", "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
        os.makedirs(os.path.join(self.dir, "mail"))
        os.chown(os.path.join(self.dir, "mail"), MAIL_UID, MAIL_UID)
        with open(os.path.join(self.dir, "users"), "w") as f:
            for i in range(1, users + 1):
                f.write("user%d:{PLAIN}%s:%d:%d::%s/home/user%d::\n"
                        % (i, PASSWORD, MAIL_UID, MAIL_UID, self.dir, i))
        oauth = ""
        if introspection_url:
            oauth = OAUTH_PASSDB.format(dir=self.dir)
            with open(os.path.join(self.dir, "oauth2.conf.ext"), "w") as f:
                f.write(OAUTH_CONFIG.format(url=introspection_url))
        with open(self.config, "w") as f:
            f.write(CONFIG.format(dir=self.dir, plain_port=self.plain_port,
                                  tls_port=self.tls_port, oauth=oauth,
                                  server_cert="server.pem" if chain else "cert.pem"))
        self.start()

    def openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, cwd=self.dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def make_chain(self):
        ext = os.path.join(self.dir, "ext.cnf")
        with open(ext, "w") as f:
            f.write("[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = keyCertSign,cRLSign\n"
                    "[leaf]\nbasicConstraints = CA:FALSE\nsubjectAltName = IP:127.0.0.1\n"
                    "extendedKeyUsage = serverAuth\n")
        self.openssl("req", "-x509", *NEW_KEY, "-nodes", "-keyout", "root.key",
                     "-out", "cert.pem", "-days", "2", "-subj", "/CN=docket test root")
        for name, issuer, section, subject in (("inter", "cert", "ca", "/CN=docket test inter"),
                                               ("leaf", "inter", "leaf", "/CN=imap server")):
            self.openssl("req", *NEW_KEY, "-nodes", "-keyout", name + ".key",
                         "-out", name + ".csr", "-subj", subject)
            self.openssl("x509", "-req", "-in", name + ".csr", "-CA", issuer + ".pem",
                         "-CAkey", ("root" if issuer == "cert" else issuer) + ".key",
                         "-CAcreateserial", "-out", name + ".pem", "-days", "2",
                         "-extfile", "ext.cnf", "-extensions", section)
        with open(os.path.join(self.dir, "key.pem"), "wb") as out:
            with open(os.path.join(self.dir, "leaf.key"), "rb") as f:
                out.write(f.read())
        # Dovecot sends the whole file: server certificate first.
        with open(os.path.join(self.dir, "server.pem"), "wb") as out:
            for name in ("leaf.pem", "inter.pem"):
                with open(os.path.join(self.dir, name), "rb") as f:
                    out.write(f.read())

    def start(self):
        subprocess.run([DOVECOT, "-c", self.config], check=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.plain_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start: %s" % self.log())

    def master_pid(self):
        with open(os.path.join(self.dir, "run", "master.pid")) as f:
            return int(f.read().strip())

    def children(self, pid):
        out = []
        for entry in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
        return out

    def stop(self):
        """Stops the server with every process it started (as a crash or
        restart of the machine would) and waits until it is gone."""
        try:
            pid = self.master_pid()
        except OSError:
            return
        children = self.children(pid)
        subprocess.run(["doveadm", "-c", self.config, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()
        except OSError:
            return ""

    # The Maildir++ layout: INBOX at the root, folder X in .X/
    def folder_path(self, user, folder="INBOX"):
        root = os.path.join(self.dir, "mail", user)
        return root if folder == "INBOX" else os.path.join(root, "." + folder)

    def add(self, user, message, folder="INBOX", seq=[0]):
        """Delivers message (bytes) into the folder, as an MDA would."""
        path = self.folder_path(user, folder)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        for p in (os.path.join(self.dir, "mail", user), path):
            os.chown(p, MAIL_UID, MAIL_UID)
            for sub in ("tmp", "new", "cur"):
                if os.path.isdir(os.path.join(p, sub)):
                    os.chown(os.path.join(p, sub), MAIL_UID, MAIL_UID)
        seq[0] += 1
        name = "%d.M%dP%d.docket-test" % (int(time.time()), seq[0], os.getpid())
        tmp = os.path.join(path, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(message)
        os.chown(tmp, MAIL_UID, MAIL_UID)
        os.rename(tmp, os.path.join(path, "new", name))

    def files(self, user, folder="INBOX"):
        """The message files of a folder: names (with their flags)."""
        path = self.folder_path(user, folder)
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(path, sub)
            if os.path.isdir(d):
                out += [n for n in os.listdir(d) if not n.startswith(".")]
        return sorted(out)


def message(i, subject=None, body=None):
    """A small, distinct test message."""
    return ("From: Customer %d <customer%d@example.com>\r\n"
            "To: support@example.com\r\n"
            "Subject: %s\r\n"
            "Date: Tue, 24 Nov 2026 09:15:00 +0100\r\n"
            "Message-ID: <msg%d@example.com>\r\n"
            "\r\n%s\r\n" % (i, i, subject or "Problem number %d" % i, i,
                            body or "Please help with problem %d." % i)).encode()
