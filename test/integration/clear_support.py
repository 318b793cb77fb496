# SPDX-License-Identifier: Apache-2.0
"""What the integration tests of `troc clear` share: their arguments (the troc
binary and the shared directory), a scratch directory removed at exit, running
troc, and failing loudly.

Each test is run by meson as `python3 TEST.py TROC SHARED_DIR`.  A missing
shared directory is a failure, never a skip: the tests exist to check troc
against the shared instances.
"""
import atexit
import csv
import io
import os
import pty
import shutil
import subprocess
import sys
import tempfile


class Context:
    def __init__(self):
        if len(sys.argv) != 3:
            sys.exit(f"usage: {sys.argv[0]} TROC SHARED_DIR")
        self.troc = os.path.abspath(sys.argv[1])
        self.shared = os.path.abspath(sys.argv[2])
        self.checks = 0
        if not os.access(self.troc, os.X_OK):
            fail(f"no troc binary at {self.troc}")
        if not os.path.isdir(os.path.join(self.shared, "data", "clearing")):
            fail(f"shared test data missing: {self.shared}/data/clearing "
                 "(the tests need ../shared beside the source tree)")
        self.work = tempfile.mkdtemp(prefix="troc-clear-test-")
        atexit.register(shutil.rmtree, self.work, True)

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def write(self, name, data):
        """Writes bytes (or text, as UTF-8) to a file of the scratch directory."""
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    def clear_on_terminal(self, *args):
        """Runs `troc clear ARGS...` with stderr on a pseudo-terminal (stdout
        a pipe); returns (status, stdout bytes, what the terminal got)."""
        master, slave = pty.openpty()
        process = subprocess.Popen([self.troc, "clear", *args], stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the last holder of the terminal's other end is gone
                break
            if not chunk:
                break
            shown += chunk
        os.close(master)
        out = process.stdout.read()
        process.stdout.close()
        return process.wait(timeout=120), out, shown.decode("utf-8", "replace")

    def run(self, *args, cwd=None):
        """Runs `troc ARGS...`; returns (status, stdout bytes, stderr text)."""
        done = subprocess.run([self.troc, *args], cwd=cwd, capture_output=True, timeout=120)
        return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")

    def clear(self, *args, cwd=None):
        """Runs `troc clear ARGS...` as run() does."""
        return self.run("clear", *args, cwd=cwd)

    def check(self, condition, message):
        if not condition:
            fail(message)
        self.checks += 1

    def done(self):
        print(f"ok {self.checks} checks")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def read_csv(path):
    """Rows of a CSV file as lists of fields (the header first), BOM dropped."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))


def rows_as_dicts(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def parse_csv_text(text):
    return list(csv.reader(io.StringIO(text, newline="")))
