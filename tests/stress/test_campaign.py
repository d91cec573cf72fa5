"""`make test` runs the campaign's fast profile; `make stress` the long one."""

import pytest

from .campaign import report, run

pytestmark = pytest.mark.slow


def test_fast_campaign_meets_every_goal(capsys, tmp_path):
    figures = run("fast", seed=0, work=tmp_path)
    assert report(figures), capsys.readouterr().out
