"""Hypothesis profiles and seeding, so that a CI run gives the same verdict on the same commit.

Profiles, chosen with the environment variable MICROGRADNN_HYPOTHESIS_PROFILE (scripts/test
sets ``ci`` when the CI variable is set, ``dev`` otherwise):

- ``dev`` (default): few examples, fast. Replays, first, every failing example saved in the
  local database ``.hypothesis/``.
- ``ci``: more examples, **derandomized**: each test draws the same examples on every run, so
  CI's verdict depends only on the commit. No database (a CI checkout is fresh anyway); a
  failure prints the blob that reproduces it.
- ``explore``: as many examples as ``ci`` but fresh random draws on every run, saving what
  fails in the local database, which later ``dev`` and ``explore`` runs replay. Use it to
  look for new failures: ``MICROGRADNN_HYPOTHESIS_PROFILE=explore ./scripts/test``.
- ``thorough``: ``explore`` with many more examples, for an occasional long run.

Every test also starts with microgradnn's generator (``mg.rand``, initialisers, shuffling)
seeded from the test's own name, so tests that draw with it repeat too. The
``explore`` and ``thorough`` profiles mix a fresh run seed into it (printed in the header;
``MICROGRADNN_TEST_SEED=N`` sets it, to repeat a run), so they vary these draws as well.
"""
import os
import zlib

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

import microgradnn as mg

_quiet = [HealthCheck.too_slow, HealthCheck.filter_too_much]
_local_db = DirectoryBasedExampleDatabase(
    os.path.join(os.path.dirname(os.path.dirname(__file__)), ".hypothesis", "examples"))

settings.register_profile("dev", max_examples=15, deadline=None, database=_local_db,
                          suppress_health_check=_quiet)
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          database=None, print_blob=True, suppress_health_check=_quiet)
settings.register_profile("explore", max_examples=40, deadline=None, database=_local_db,
                          print_blob=True, suppress_health_check=_quiet)
settings.register_profile("thorough", max_examples=300, deadline=None, database=_local_db,
                          print_blob=True, suppress_health_check=_quiet)

PROFILE = os.environ.get("MICROGRADNN_HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)


def _run_seed() -> int:
    """0 (the test's name alone) for dev and ci; a fresh seed for the exploring profiles.
    Drawn once per run and handed to xdist's workers through the environment."""
    given = os.environ.get("MICROGRADNN_TEST_SEED")
    if given is None and PROFILE in ("explore", "thorough"):
        given = os.environ["MICROGRADNN_TEST_SEED"] = str(int.from_bytes(os.urandom(4), "little"))
    return int(given or 0)


RUN_SEED = _run_seed()


def pytest_report_header(config):
    mode = "derandomized" if settings.default.derandomize else "random draws"
    seed = (f"from the test's name and run seed {RUN_SEED} (MICROGRADNN_TEST_SEED={RUN_SEED} "
            "repeats it)" if RUN_SEED else "from the test's name")
    return (f"Hypothesis profile '{PROFILE}' ({settings.default.max_examples} examples, "
            f"{mode}); microgradnn's generator seeded per test {seed}")


def pytest_terminal_summary(terminalreporter):
    """The run seed again at the end, where ``-q`` runs (which print no header) show it."""
    if RUN_SEED:
        terminalreporter.write_line(f"microgradnn run seed {RUN_SEED}: MICROGRADNN_TEST_SEED="
                                    f"{RUN_SEED} repeats this run's draws of mg's generator")


@pytest.fixture(autouse=True)
def _seed_microgradnn(request):
    """Seed mg's generator from the test id (and the run seed): repeatable, yet different
    between tests."""
    mg.manual_seed(zlib.crc32(request.node.nodeid.encode()) ^ RUN_SEED)
    yield
