#!/bin/sh
# Installs every Debian 12 package that building, running and testing docket
# needs. Non-interactive and idempotent; run as root (or through sudo).
set -eu

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -E sh "$0" "$@"
	fi
	echo "setup-debian.sh: must run as root to install packages" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Build tools and the libraries docket links against. libetpan-dev pulls in
# libcurl4-gnutls-dev, so docket uses the GnuTLS flavour of libcurl. tzdata:
# the time zones of [sla] timezone (and the SLA tests' Berlin and New York).
# libgpgme-dev, libidn2-dev and libunistring-dev: the static archives that
# `docket` links in place of GMime's shared dependencies (gateway/CMakeLists.txt).
# clang-format: tests/run.sh checks that the tree follows .clang-format.
# shared-mime-info: the type of a file `docket ticket reply --attach` sends.
# libsoup-3.0-dev and glib-networking (GIO's TLS): the web server of
# `docket serve`; libargon2-dev: the users' password hashes.
# chromium, chromium-driver, python3-selenium: the web desk's browser tests
# (tests/web/test_desk_browser.py, headless); fonts-dejavu-core: its screenshots;
# nginx-light: contrib/nginx-docket.conf tried in front of docket
# (tests/web/test_desk_nginx.py runs a private instance).
# libpq-dev: the PostgreSQL store ([store] backend = postgresql, docket-net
# only); postgresql: the server binaries (initdb, postgres, with pg_trgm) with
# which tests/pg/pg-cluster.py starts a throwaway cluster (below: no cluster
# of the system's own).
# time: GNU time, the peak RSS of one docket process in tests/bench.
PACKAGES="
build-essential cmake pkg-config clang clang-format
libglib2.0-dev libgmime-3.0-dev libsqlite3-dev libcurl4-gnutls-dev
libjansson-dev libetpan-dev libxml2-dev libytnef0-dev libgnutls28-dev
libcmocka-dev nettle-dev libuchardet-dev
libgpgme-dev libidn2-dev libunistring-dev
libsoup-3.0-dev glib-networking libargon2-dev
gnupg gpgsm
python3 python3-yaml sqlite3 ca-certificates tzdata shared-mime-info
dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve openssl postfix
chromium chromium-driver python3-selenium fonts-dejavu-core nginx-light
libpq-dev postgresql
time
"

# Postfix (tests/lmtp/test_postfix.py, smtp-source for tests/bench) must
# install without questions and without a system configuration of its own:
# the tests run private instances. Dovecot LMTP is the benchmark's reference.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

# PostgreSQL: installing the server must not leave a database running on
# the machine. Debian's postgresql-common creates and starts a cluster
# "<version>/main" on first install unless createcluster.conf says
# create_main_cluster = false: write it before the package comes (ucf then
# keeps the file as it is, UCF_FORCE_CONFFOLD), and stop and disable the
# service after it, in case a cluster came anyway.
pg_fresh=""
case " $(echo $missing) " in
*" postgresql "*)
	if [ -z "$(ls /etc/postgresql/*/*/postgresql.conf 2>/dev/null)" ]; then
		pg_fresh=yes
		mkdir -p /etc/postgresql-common
		if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
			echo "create_main_cluster = false" >>/etc/postgresql-common/createcluster.conf
		fi
	fi
	;;
esac

if [ -n "$missing" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	UCF_FORCE_CONFFOLD=1 apt-get install -y -qq --no-install-recommends $missing
fi

if [ -n "$pg_fresh" ]; then
	for conf in /etc/postgresql/*/*/postgresql.conf; do
		[ -e "$conf" ] || continue
		dir=${conf%/postgresql.conf}
		pg_ctlcluster "$(basename "$(dirname "$dir")")" "$(basename "$dir")" stop 2>/dev/null || :
	done
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now postgresql.service >/dev/null 2>&1 || :
	fi
	if command -v update-rc.d >/dev/null 2>&1; then
		update-rc.d postgresql disable >/dev/null 2>&1 || :
	fi
fi
echo "setup-debian.sh: all packages present"
