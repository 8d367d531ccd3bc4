"""The long-range provider of behaviour versions: every unit a v2 record names is declared."""
from rtrl_moe.longrange import versions
from rtrl_moe.longrange.protocol import MODELS, Point
from rtrl_moe.records.versions import units_of, versions_of


def test_every_point_of_the_protocol_has_declared_units():
    for m, p in MODELS.items():
        for lab in p.learners:
            c = Point(m, "tbptt-8" if lab == "tbptt-k*" else lab, 16, 0).config()
            got = versions_of(units_of(c) + versions.units_of_config(c))   # what runner.record stamps
            assert got["longrange.protocol"] == versions.VERSIONS["longrange.protocol"]
    assert versions.units_of_config({"kind": "longrange"}) == []      # the retired preset
