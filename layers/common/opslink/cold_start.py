"""A Lambda cold start without the garbage collector.

Initialising a handler allocates hundreds of thousands of objects that live as long as the
container (modules, classes, pydantic schemas, compiled patterns, SDK clients). Each time
allocations cross the collector's threshold it walks them and frees nothing, and the first
collection after the imports walks them all once more. In a Lambda container collection is
off while a handler initialises and what it built is then frozen (moved to the permanent
generation, never scanned again): cheaper cold starts, and a warm invocation's collections
walk only its own objects. Reference counting still frees what it can meanwhile. Outside
Lambda (tests, the CLI's local emulator) the collector is left alone: freezing there would
keep whatever cyclic garbage the process held at that moment for good.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def initialising() -> Iterator[None]:
    if not (os.environ.get("AWS_LAMBDA_RUNTIME_API") and gc.isenabled()):
        yield
        return
    gc.disable()
    try:
        yield
        gc.freeze()  # a failed initialisation ends the container: nothing worth freezing
    finally:
        gc.enable()
