"""The help pages shipped in help/ are those scripts/build_help.py makes from the algorithms now, and every
algorithm's Help button and tooltip lead somewhere."""

import os
from urllib.parse import unquote, urlparse

from build_help import HELP_DIR, pages


def test_committed_help_pages_are_current(provider):
    expected = pages()
    stale = [name for name, text in expected.items()
             if not os.path.isfile(os.path.join(HELP_DIR, name))
             or open(os.path.join(HELP_DIR, name), encoding="utf-8").read() != text]
    extra = sorted(set(os.listdir(HELP_DIR)) - set(expected))
    assert (stale, extra) == ([], []), "help pages out of date: run make help"


def test_every_algorithm_has_a_local_help_page_and_a_short_description(provider):
    from mpm3d.algorithms.base import Mpm3dAlgorithm

    algorithms = [a for a in provider.algorithms() if isinstance(a, Mpm3dAlgorithm)]  # not the shipped model
    assert algorithms
    for algorithm in algorithms:
        url = urlparse(algorithm.helpUrl())
        assert url.scheme == "file" and os.path.isfile(unquote(url.path)), algorithm.id()
        assert algorithm.shortDescription().endswith("."), algorithm.id()
