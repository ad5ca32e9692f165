"""Shared set-up of the reliability suite's Python tests: the LMTP and
Postfix helpers of tests/lmtp, and the switch between the short variants
(the default suite) and the long ones (DOCKET_RELIABILITY_LONG=1)."""

import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lmtp"))

LONG = os.environ.get("DOCKET_RELIABILITY_LONG") == "1"


def scaled(short, long):
    """The figure of the variant that runs: short by default, long with
    DOCKET_RELIABILITY_LONG=1."""
    return long if LONG else short


def rng(name):
    """A random generator whose seed is printed, so a failing run can be
    repeated with DOCKET_RELIABILITY_SEED."""
    seed = int(os.environ.get("DOCKET_RELIABILITY_SEED", time.time_ns() % (1 << 32)))
    print("%s: seed %d (DOCKET_RELIABILITY_SEED)" % (name, seed), flush=True)
    return random.Random(seed)


def report(name, **figures):
    """One line of figures, for the README's reliability table."""
    print("%s: %s" % (name, " ".join("%s=%s" % kv for kv in figures.items())), flush=True)
