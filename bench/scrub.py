"""Throughput of the secret scrubber on a long job log, and of its parts.

    .venv/bin/python bench/scrub.py [LAYER_DIR]

The log: 20,000 lines, 5 % of them a secret shape of the test corpus, 25 % readable
operational lines of its false-positive corpus, the rest random tokens (letters, digits,
`-_=:/`) — ~1.5 MB, every line different. Prints the median of 5 runs of `scrub` on the
whole log, of the rule set on it (each rule timed) and of the line-wrap pass. Job output
reaches the scrubber capped at 20 KB per stream; a larger text (a pasted log) is where
the throughput shows. LAYER_DIR (default: this tree's layers/common) measures another
tree's scrubber with the same log, e.g. a `git worktree` of an earlier commit.
"""

from __future__ import annotations

import random
import statistics
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "layers" / "common"))

from tests.unit.secret_corpus import FALSE_POSITIVES, SHAPES  # noqa: E402

from opslink import scrub as scrubber  # noqa: E402

RUNS = 5


def log(lines: int = 20_000) -> str:
    rng = random.Random(1)
    alphabet = string.ascii_letters + string.digits + "-_=:/"
    out = []
    for i in range(lines):
        k = rng.random()
        if k < 0.05:
            out.append(SHAPES[i % len(SHAPES)][1])
        elif k < 0.3:
            out.append(FALSE_POSITIVES[i % len(FALSE_POSITIVES)])
        else:
            words = (
                "".join(rng.choices(alphabet, k=rng.randint(2, 14)))
                for _ in range(rng.randint(3, 14))
            )
            out.append(" ".join(words))
    return "\n".join(out)


def median(fn: object) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    text = log()
    scrubber.scrub("warm up")  # the maintained rules load on first use
    mb = len(text.encode()) / 1e6
    whole = median(lambda: scrubber.scrub(text))
    rules = median(lambda: scrubber._apply(text))
    wrap = median(lambda: scrubber._unwrap(text))
    print(f"scrubber from {scrubber.__file__}")
    print(f"log {mb:.2f} MB, {text.count(chr(10)) + 1} lines; medians of {RUNS} runs")
    print(f"{'scrub (whole)':<28}{whole:>8.2f} s{mb / whole:>10.2f} MB/s")
    print(f"{'rule set on the log':<28}{rules:>8.2f} s")
    print(f"{'line-wrap pass':<28}{wrap:>8.2f} s")
    slowest = []
    own = (  # scrub_rules.py's, imported by scrub.py; older trees kept them private
        scrubber.FIRST + scrubber.RULES
        if hasattr(scrubber, "RULES")
        else getattr(scrubber, "_FIRST", ()) + scrubber._RULES
    )
    for pattern, replacement in own:
        start = time.perf_counter()
        pattern.sub(replacement, text)
        slowest.append((time.perf_counter() - start, pattern.pattern[:60]))
    print("slowest of OpsLink's own rules (one run each):")
    for seconds, pattern in sorted(slowest, reverse=True)[:3]:
        print(f"  {seconds:6.2f} s  {pattern}")
    # Shapes that make a backtracking pattern slow: 20 KB each, as an alarm description
    # (capped at 16 KB) or a job's output stream (20 KB) can carry them.
    print("hostile 20 KB inputs (median of 5 runs):")
    for label, text in HOSTILE.items():
        print(f"  {label:<34}{median(lambda t=text: scrubber.scrub(t)):>8.3f} s")


HOSTILE = {
    "blank lines": "\n" * 20_000,
    "one 20 KB token of letters": "a" * 20_000,
    "a hex dump on one line": "0123456789abcdef" * 1_250,
    "a secret word repeated": "password" * 2_500,
    "backslashes": "\\" * 20_000,
    "'key=' pairs": "x=1 " * 5_000,
    # each one decoded and scrubbed as JSON (base64 of '{"password": "xxxxxx"}')
    "base64 JSON tokens": "eyJwYXNzd29yZCI6ICJ4eHh4eHgifQ== " * 600,
    # each a private key's end with its body before it, walked back line by line
    "END lines after base64 lines": ("QUJDRA==\n" * 40 + "-----END PRIVATE KEY-----\n") * 50,
}


if __name__ == "__main__":
    main()
