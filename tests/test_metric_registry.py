"""The metric registry is the one source of metric names, labels and units."""

import pytest

import model.model as model_module
from model import ChipModel, metrics
from model.docsections import stale


@pytest.mark.parametrize("scenario", ["baseline", "jk_cocreation"])
def test_registry_names_are_exactly_the_metrics_table_columns(scenario):
    m = ChipModel(scenario, rng=0)
    cols = [c for c in m.tables()["metrics"].columns if c not in ("step", "quarter")]
    assert cols == metrics.metric_names(m.geo.countries, m.geo.blocs) == metrics.catalog(scenario)
    assert set(metrics.snapshot(m.world, m.spec)) == set(cols)


def test_each_group_computes_exactly_its_metrics():
    m = ChipModel("baseline", rng=0).run(2)
    w, sc = m.world, m.spec
    op = w.sites.capacity_by(1, w.geo.n, 7)
    for group, fn in metrics.GROUPS.items():
        row = fn(w, sc, op) if group in ("market", "concentration", "money") else fn(w, sc)
        declared = [n for mt in metrics.METRICS if mt.group == group
                    for n in metrics.expand(mt, w.geo.countries, w.geo.blocs)]
        assert sorted(row) == sorted(declared), group


def test_listing_metrics_builds_no_model(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a model was built")
    monkeypatch.setattr(model_module.ChipModel, "__init__", boom)
    names = metrics.catalog("baseline")
    assert "share_JP" in names and "clustering_index" in names


@pytest.mark.parametrize("name,label,scale", [
    ("share_JP", "JP share of world fab capacity (%)", 100.0),
    ("share_bloc_western", "western bloc share of world fab capacity (%)", 100.0),
    ("shortfall_logic", "logic output shortfall (%)", 100.0),
    ("shortfall_KR", "KR firms' output shortfall (%)", 100.0),
    ("capacity_fab", "operating fab capacity (kwpm)", 1.0),
    ("capacity_memory", "memory capacity (kwpm)", 1.0),
    ("supply_shortfall", "supply shortfall (% of planned fab output)", 100.0),
])
def test_labels_and_units_come_from_the_registry(name, label, scale):
    assert metrics.label(name) == (label, scale)


def test_unknown_names_are_not_metrics():
    for bad in ("share_", "shortfall_xx", "capacity_gold", "nonsense"):
        with pytest.raises(KeyError):
            metrics.describe(bad)


def test_odd_metric_table_and_architecture_table_match_the_code():
    assert stale() == [], "run `python -m model.docsections` and commit docs/"
