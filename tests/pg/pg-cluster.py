#!/usr/bin/python3
"""A throwaway PostgreSQL cluster for the tests of the PostgreSQL store.

    pg-cluster.py start ENV_FILE   make and start one, write ENV_FILE
    pg-cluster.py stop ENV_FILE    stop it, remove it and ENV_FILE

start: initdb (Debian's server binaries, /usr/lib/postgresql/*/bin, or
$DOCKET_PG_BINDIR) into a new temporary folder as an unprivileged user (the
`postgres` system user when run as root: initdb refuses root), listening on
127.0.0.1 on a free port and on a socket in that folder; TLS on, with a CA
and a server certificate for localhost and 127.0.0.1 made by openssl; the
role `docket` with a random password (scram-sha-256, kept in a 0600 file)
owning the database `docket`. Over TCP only TLS with a password is let in;
the superuser `postgres` logs in over the socket without one.

ENV_FILE gets KEY=VALUE lines (quoted for sh) that the tests read, since
CTest fixtures pass no environment:
    DOCKET_TEST_PG_URL            postgresql://docket@127.0.0.1:PORT/docket
                                  ?sslmode=verify-full&sslrootcert=CA
    DOCKET_TEST_PG_PASSWORD_FILE  the docket role's password, mode 0600
    DOCKET_TEST_PG_ADMIN_URL      the superuser over the socket
    DOCKET_TEST_PG_HOST, _PORT, _SOCKET_DIR, _CA, _BINDIR, _DIR
Without the server binaries: exit 77 (skipped) and no ENV_FILE.
"""

import glob
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

SKIP = 77


def log(text):
    print("pg-cluster: " + text, file=sys.stderr, flush=True)


def find_bindir():
    """The newest server binaries' folder, or None."""
    wanted = os.environ.get("DOCKET_PG_BINDIR")
    if wanted:
        return wanted if os.access(os.path.join(wanted, "initdb"), os.X_OK) else None
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found.sort(key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


class Runner:
    """Runs the server's programs as the cluster's owner."""

    def __init__(self):
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self.owner = pwd.getpwnam("postgres")  # KeyError: no such user
        else:
            self.owner = pwd.getpwuid(os.geteuid())

    def own(self, path, mode):
        os.chmod(path, mode)
        if self.as_root:
            os.chown(path, self.owner.pw_uid, self.owner.pw_gid)

    def run(self, argv, **kw):
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, **kw)


def free_port():
    """A port nobody listens on now (the server may still lose it to
    another process; start() then tries again)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_private(path, text, runner=None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    if runner is not None:
        runner.own(path, 0o600)


def make_certificates(top, runner):
    """A CA, and a server certificate it signs for localhost and
    127.0.0.1, in top/tls. Returns (ca, cert, key)."""
    tls = os.path.join(top, "tls")
    os.mkdir(tls)
    ca, ca_key = os.path.join(tls, "ca.crt"), os.path.join(tls, "ca.key")
    cert, key = os.path.join(tls, "server.crt"), os.path.join(tls, "server.key")
    csr, ext = os.path.join(tls, "server.csr"), os.path.join(tls, "server.ext")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out", ca,
                    "-days", "2", "-subj", "/CN=docket test CA",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], **quiet)
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"], **quiet)
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert], **quiet)
    os.chmod(ca, 0o644)
    runner.own(tls, 0o755)
    runner.own(cert, 0o644)
    runner.own(key, 0o600)  # the server refuses a key others may read
    return ca, cert, key


def configure(data, port, sock, cert, key):
    with open(os.path.join(data, "postgresql.conf"), "a") as f:
        f.write("\n# docket's test cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {port}\n"
                f"unix_socket_directories = '{sock}'\n"
                "ssl = on\n"
                f"ssl_cert_file = '{cert}'\n"
                f"ssl_key_file = '{key}'\n"
                "password_encryption = 'scram-sha-256'\n"
                "max_connections = 200\n"
                "fsync = off\n"  # a throwaway cluster: no crash to survive
                "full_page_writes = off\n"
                "logging_collector = off\n")
    with open(os.path.join(data, "pg_hba.conf"), "w") as f:
        f.write("# TYPE   DATABASE USER     ADDRESS        METHOD\n"
                "local    all      postgres                trust\n"
                "hostssl  all      all      127.0.0.1/32   scram-sha-256\n")


def psql(bindir, runner, sock, port, sql):
    runner.run([os.path.join(bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", sock, "-p", str(port), "-U", "postgres", "-d", "postgres", "-c", sql],
               stdout=subprocess.DEVNULL)


def start_server(bindir, runner, top, cert, key):
    """initdb, configure and start; the port it listens on."""
    data, sock = os.path.join(top, "data"), os.path.join(top, "sock")
    os.mkdir(sock)
    runner.own(sock, 0o755)
    runner.run([os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "-E", "UTF8",
                "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
                "--no-sync"], stdout=subprocess.DEVNULL)
    for attempt in range(5):
        port = free_port()
        configure(data, port, sock, cert, key)
        try:
            runner.run([os.path.join(bindir, "pg_ctl"), "-D", data, "-l",
                        os.path.join(top, "server.log"), "-w", "-t", "300", "start"],
                       stdout=subprocess.DEVNULL)
            return port
        except subprocess.CalledProcessError:
            log("the server did not start on port %d, trying another" % port)
    raise RuntimeError("the server did not start: see " + os.path.join(top, "server.log"))


def start(env_file):
    bindir = find_bindir()
    if bindir is None:
        log("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): skipped")
        return SKIP
    if os.path.exists(env_file):
        stop(env_file)  # left over from a run that was killed
    try:
        runner = Runner()
    except KeyError:
        log("running as root, and no `postgres` user to run the server as: skipped")
        return SKIP
    top = tempfile.mkdtemp(prefix="docket-pg-")
    try:
        return make_cluster(bindir, runner, top, env_file)
    except BaseException:
        remove(bindir, top)
        raise


def make_cluster(bindir, runner, top, env_file):
    runner.own(top, 0o755)  # the tests (root or the owner) read the CA and the socket
    ca, cert, key = make_certificates(top, runner)
    port = start_server(bindir, runner, top, cert, key)
    sock = os.path.join(top, "sock")
    password = secrets.token_urlsafe(24)
    password_file = os.path.join(top, "docket.password")
    write_private(password_file, password + "\n")
    psql(bindir, runner, sock, port, "CREATE ROLE docket LOGIN PASSWORD '%s'" % password)
    psql(bindir, runner, sock, port, "CREATE DATABASE docket OWNER docket")
    env = {
        "DOCKET_TEST_PG_URL": "postgresql://docket@127.0.0.1:%d/docket"
                              "?sslmode=verify-full&sslrootcert=%s" % (port, ca),
        "DOCKET_TEST_PG_PASSWORD_FILE": password_file,
        "DOCKET_TEST_PG_ADMIN_URL": "postgresql://postgres@/docket?host=%s&port=%d"
                                    % (sock, port),
        "DOCKET_TEST_PG_HOST": "127.0.0.1",
        "DOCKET_TEST_PG_PORT": str(port),
        "DOCKET_TEST_PG_SOCKET_DIR": sock,
        "DOCKET_TEST_PG_CA": ca,
        "DOCKET_TEST_PG_BINDIR": bindir,
        "DOCKET_TEST_PG_DIR": top,
    }
    os.makedirs(os.path.dirname(os.path.abspath(env_file)), exist_ok=True)
    with open(env_file + ".tmp", "w") as f:
        for name, value in env.items():
            f.write("%s=%s\n" % (name, shlex.quote(value)))
    os.replace(env_file + ".tmp", env_file)
    log("PostgreSQL on 127.0.0.1:%d and %s (%s); environment in %s"
        % (port, sock, top, env_file))
    return 0


def read_env(env_file):
    env = {}
    with open(env_file) as f:
        for line in f:
            name, _, value = line.rstrip("\n").partition("=")
            if name:
                env[name] = shlex.split(value)[0] if value else ""
    return env


def stop(env_file):
    if not os.path.exists(env_file):
        log("no cluster to stop")
        return SKIP
    env = read_env(env_file)
    remove(env.get("DOCKET_TEST_PG_BINDIR", ""), env.get("DOCKET_TEST_PG_DIR", ""))
    os.unlink(env_file)
    return 0


def remove(bindir, top):
    """Stops the server of the cluster in top, if it runs, and removes top."""
    if not os.path.basename(top).startswith("docket-pg-"):
        return  # not one of ours
    data = os.path.join(top, "data")
    if os.path.exists(os.path.join(data, "postmaster.pid")):
        try:
            Runner().run([os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate",
                          "-w", "stop"], stdout=subprocess.DEVNULL)
        except (subprocess.CalledProcessError, KeyError, OSError) as e:
            log("stopping the server: %s" % e)
    shutil.rmtree(top, ignore_errors=True)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return start(argv[2]) if argv[1] == "start" else stop(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
