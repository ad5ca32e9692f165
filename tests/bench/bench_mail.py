"""A large mail for the benchmarks, written where they ask, and whether
docket stored its attachment whole. Imported by bench-imap.py; run by
bench-lmtp-lib.sh:

    bench_mail.py write MIB FILE          writes the mail, prints the SHA-256
                                          of its MIB MiB attachment
    bench_mail.py stored DATA_DIR SHA256  prints 1 when a file under
                                          DATA_DIR/attachments has that
                                          SHA-256, else 0
"""

import base64
import hashlib
import os
import sys


def write(mib, path):
    """Writes to path a message with mib MiB of random bytes attached
    (base64); returns their SHA-256. The caller holds none of the bytes
    while docket runs (a child's peak RSS counts its parent's as it was
    when the child started)."""
    data = os.urandom(mib * 1048576)
    digest = hashlib.sha256(data).hexdigest()
    with open(path, "wb") as f:
        f.write(b"From: Bench <bench@example.com>\r\nTo: support@example.test\r\n"
                b"Subject: a large attachment\r\nMessage-ID: <attachment@bench.example>\r\n"
                b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                b"--b\r\nContent-Type: text/plain\r\n\r\nThe file.\r\n--b\r\n"
                b"Content-Type: application/octet-stream; name=file.bin\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n")
        f.write(base64.encodebytes(data).replace(b"\n", b"\r\n"))
        f.write(b"--b--\r\n")
    return digest


def stored_whole(data_dir, digest):
    """Whether a file under data_dir/attachments has that SHA-256."""
    for root, _, files in os.walk(os.path.join(data_dir, "attachments")):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                if hashlib.file_digest(f, "sha256").hexdigest() == digest:
                    return True
    return False


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        print(write(int(sys.argv[2]), sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "stored":
        print(1 if stored_whole(sys.argv[2], sys.argv[3]) else 0)
    else:
        sys.exit(__doc__)
