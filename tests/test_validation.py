"""Out-of-sample test of the location logit (experiments/validation.py, `kyoso validate-location`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.calibration import (WEIGHT_NAMES, fit_logit, log_probabilities, mode_weights, value_terms,
                                     weight_slot)
from experiments.errors import UserError
from experiments.validation import (FOLD_COLUMNS, MODELS, SUMMARY_COLUMNS, TWO_TERMS, cross_validate, kfold_splits,
                                    score)
from model import decisions

HOME, EXP = (WEIGHT_NAMES.index(n) for n in TWO_TERMS)


# ------------------------------------------------------------------ splits
@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 80), folds=st.integers(2, 10), repeats=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_splits_are_disjoint_cover_every_site_once_and_are_deterministic(n, folds, repeats, seed):
    folds = min(folds, n)
    splits = kfold_splits(n, folds, repeats=repeats, seed=seed)
    assert len(splits) == folds * repeats
    for r in range(repeats):
        tests = [test for rr, _, _, test in splits if rr == r]
        assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(n))      # each site held back once
        assert max(map(len, tests)) - min(map(len, tests)) <= 1
    for _, _, train, test in splits:
        assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == n
    again = kfold_splits(n, folds, repeats=repeats, seed=seed)
    assert all(np.array_equal(a[3], b[3]) for a, b in zip(splits, again))


def test_splits_depend_on_the_seed():
    a = [t for *_, t in kfold_splits(41, 5, seed=0)]
    b = [t for *_, t in kfold_splits(41, 5, seed=1)]
    assert any(not np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("kwargs, field", [({"n": 10, "folds": 1}, "folds = 1"), ({"n": 5, "folds": 6}, "folds = 6"),
                                           ({"n": 10, "folds": 2, "repeats": 0}, "repeats = 0"),
                                           ({"n": 1, "folds": 2}, "n = 1"), ({"n": 10, "folds": 2.5}, "folds = 2.5"),
                                           ({"n": 10, "folds": 2, "seed": -1}, "seed = -1")])
def test_bad_split_input_is_one_line_naming_the_field(kwargs, field):
    n, folds = kwargs.pop("n"), kwargs.pop("folds")
    with pytest.raises(UserError, match=field.replace(".", r"\.")) as err:
        kfold_splits(n, folds, **kwargs)
    assert "\n" not in str(err.value) and "expected" in str(err.value)


# ------------------------------------------------------------------ synthetic logit
def synthetic(n: int, regions: int, w_true: np.ndarray, seed: int, scale: float = 1.0):
    """Choices drawn from the conditional logit itself, on random home/brownfield indicators and noise terms."""
    rng = np.random.default_rng(seed)
    terms = np.zeros((n, len(WEIGHT_NAMES), regions))
    terms[:, HOME, :] = rng.random((n, regions)) < 0.25
    terms[:, EXP, :] = rng.random((n, regions)) < 0.15
    terms[:, WEIGHT_NAMES.index("w_labour"), :] = rng.normal(size=(n, regions))     # a term the truth ignores
    p = np.exp(log_probabilities(terms, w_true, scale))
    chosen = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return terms, chosen


def test_two_variable_mle_recovers_known_weights():
    w_true = np.zeros(len(WEIGHT_NAMES))
    w_true[[HOME, EXP]] = 1.5, 3.0
    terms, chosen = synthetic(4000, 20, w_true, seed=3)
    w0 = np.zeros(len(WEIGHT_NAMES))
    w, ll, ok = fit_logit(terms, chosen, w0, [HOME, EXP], 1.0, [(0, 100), (0, 100)])
    assert ok
    assert w[HOME] == pytest.approx(1.5, abs=0.15) and w[EXP] == pytest.approx(3.0, abs=0.15)
    assert np.all(w[[i for i in range(len(w)) if i not in (HOME, EXP)]] == 0)
    # the maximum beats the truth on its own sample, and the truth beats a wrong guess
    rows = np.arange(len(chosen))
    at = lambda v: log_probabilities(terms, v, 1.0)[rows, chosen].mean()   # noqa: E731
    assert ll >= at(w_true) - 1e-9 > at(np.where(np.arange(len(w)) == HOME, 4.0, w_true))


def test_mle_respects_the_logit_scale_and_the_signs():
    """With scale μ the identified quantity is w/μ; a minus-signed term (labour) is fitted as a magnitude."""
    lab = WEIGHT_NAMES.index("w_labour")
    assert decisions.TERM_SIGNS["labour"] < 0
    w_true = np.zeros(len(WEIGHT_NAMES))
    w_true[[HOME, lab]] = 2.0, 1.0
    terms, chosen = synthetic(4000, 15, w_true, seed=5, scale=2.0)
    w, _, _ = fit_logit(terms, chosen, np.zeros(len(WEIGHT_NAMES)), [HOME, lab], 2.0, [(0, None), (0, None)])
    assert w[HOME] == pytest.approx(2.0, abs=0.3) and w[lab] == pytest.approx(1.0, abs=0.2)


def test_hit_rates_break_ties_at_random():
    # 3 observations, 4 regions; utility from one indicator: the chosen region ties with one other
    terms = np.zeros((3, len(WEIGHT_NAMES), 4))
    terms[:, HOME, :2] = 1.0
    chosen = np.array([0, 1, 3])
    w = np.zeros(len(WEIGHT_NAMES))
    w[HOME] = 2.0
    s = score(terms, chosen, w, 1.0)
    assert s["top1"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)          # a tie of two counts half a hit
    assert s["top3"] == pytest.approx((1 + 1 + 0.5) / 3)              # last site: 2 above, tied with 1 other
    assert s["pseudo_r2"] == pytest.approx(1 - s["loglik"] / np.log(1 / 4))


def test_cross_validation_prefers_the_true_two_term_model_out_of_sample():
    """On choices drawn from a home + brownfield logit, the 12-term fit overfits the noise terms:
    its training fit is better, its held-out fit is not (the comparison the report makes)."""
    w_true = np.zeros(len(WEIGHT_NAMES))
    w_true[[HOME, EXP]] = 1.5, 3.0
    terms, chosen = synthetic(60, 12, w_true, seed=11)
    base = np.ones(len(WEIGHT_NAMES))
    # the value model sees the same choices through a noise index in place of the money terms
    index = 1.0 + 0.2 * np.random.default_rng(3).normal(size=(60, 12))
    folds, summary, paired, weights = cross_validate(terms, chosen, base, 1.0, folds=5, repeats=2, seed=0,
                                                     value=(value_terms(terms, index), base))
    assert list(folds.columns) == list(FOLD_COLUMNS) and list(summary.columns) == list(SUMMARY_COLUMNS)
    assert list(summary["model"]) == list(MODELS) and len(folds) == 5 * 2 * len(MODELS)
    s = summary.set_index("model")
    assert s.loc["value", "free_weights"] == 9 and weights.loc["value", "w_labour"] == 0.0
    assert s.loc["home+brownfield", "heldout_loglik"] > s.loc["value", "heldout_loglik"]   # 9 weights, 7 of noise
    without = cross_validate(terms, chosen, base, 1.0, folds=5, repeats=2, seed=0)[1]
    assert "value" not in set(without["model"])
    pd.testing.assert_frame_equal(without.reset_index(drop=True),
                                  summary[summary["model"] != "value"].reset_index(drop=True))
    assert s.loc["12-term", "in_sample_loglik"] >= s.loc["home+brownfield", "in_sample_loglik"]
    assert s.loc["home+brownfield", "heldout_loglik"] > s.loc["12-term", "heldout_loglik"]
    assert paired["ci_low"] <= paired["diff"] <= paired["ci_high"] and paired["n"] == 60
    assert paired["diff"] == pytest.approx(s.loc["12-term", "heldout_loglik"] - s.loc["home+brownfield", "heldout_loglik"])
    # the baseline weights are not fitted: the same on every fold's training part as on all sites
    assert weights.loc["baseline"].tolist() == base.tolist()
    assert (weights.loc["home+brownfield"].drop(list(TWO_TERMS)) == 0).all()
    for c in ("pseudo_r2", "top1", "top3"):
        assert folds[c].between(-np.inf, 1).all()
    assert folds[["top1", "top3"]].ge(0).all().all() and (folds["top3"] >= folds["top1"]).all()


# ------------------------------------------------------------------ the baseline report and the command
@pytest.fixture(scope="module")
def baseline_report():
    from experiments.validation import validate_location

    return validate_location("baseline", folds=5, repeats=2, seed=0)


def test_baseline_report_columns_and_consistency(baseline_report):
    r = baseline_report
    assert r.observations >= 10 and r.regions >= 2
    assert list(r.summary.columns) == list(SUMMARY_COLUMNS) and list(r.folds.columns) == list(FOLD_COLUMNS)
    s = r.summary.set_index("model")
    # the baseline weights are not fitted, so held-out and in-sample are the same sites' mean
    assert s.loc["baseline", "heldout_loglik"] == pytest.approx(s.loc["baseline", "in_sample_loglik"])
    # maximum likelihood on all sites beats the baseline weights on those sites, and 12 free weights beat 2
    assert s.loc["12-term", "in_sample_loglik"] >= s.loc["home+brownfield", "in_sample_loglik"] - 1e-9
    assert s.loc["12-term", "in_sample_loglik"] >= s.loc["baseline", "in_sample_loglik"] - 1e-9
    # in-sample agrees with announced_site_fit for the baseline weights
    from experiments.calibration import announced_site_fit

    assert s.loc["baseline", "in_sample_loglik"] == pytest.approx(announced_site_fit("baseline")[1]["mean_loglik"])
    assert 0 <= r.chosen["home"] <= r.chosen["either"] <= 1 and r.chosen["brownfield"] <= r.chosen["either"]
    text = r.text()
    for m in MODELS:
        assert m in text
    assert "95% CI" in text


def test_cli_prints_the_table_and_writes_csv(tmp_path, capsys):
    import pandas as pd

    from experiments.cli import main

    out = tmp_path / "v" / "location.csv"
    assert main(["validate-location", "--folds", "3", "--repeats", "1", "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "home+brownfield" in printed and "wrote" in printed
    table = pd.read_csv(out)
    assert list(table.columns) == list(SUMMARY_COLUMNS) and list(table["model"]) == list(MODELS)
    assert len(pd.read_csv(tmp_path / "v" / "location_folds.csv")) == 3 * len(MODELS)


@pytest.mark.parametrize("argv, needle", [(["--folds", "1"], "--folds 1"), (["--folds", "500"], "folds = 500"),
                                          (["--repeats", "0"], "--repeats"), (["nosuch"], "nosuch"),
                                          (["--set", "params.w_home=-1"], "w_home"),
                                          (["--seed", "-3"], "--seed")])
def test_cli_bad_input_is_one_line(argv, needle, capsys):
    from experiments.cli import main

    try:
        code = main(["validate-location", *argv])
    except SystemExit as exc:            # argparse type errors exit from the parser
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1


def test_cli_refuses_a_directory_as_csv(tmp_path, capsys):
    from experiments.cli import main

    assert main(["validate-location", "--csv", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_latest_split_holds_back_the_last_online_steps_whole():
    from experiments.validation import latest_split

    steps = [4, 4, 8, 8, 8, 12, 12, 20, 20, 24]
    [(r, k, train, test)] = latest_split(steps, share=0.3)
    # the latest steps 24, 20 hold 3 of 10 sites: exactly 30 %
    assert test.tolist() == [7, 8, 9] and train.tolist() == list(range(7)) and (r, k) == (0, 0)
    [(_, _, train, test)] = latest_split(steps, share=0.35)          # a step is never cut in two: 12 joins
    assert test.tolist() == [5, 6, 7, 8, 9] and len(np.intersect1d(train, test)) == 0
    for bad, needle in (({"online_step": [3, 3, 3]}, "same step"), ({"online_step": steps, "share": 1.0}, "share = 1.0"),
                        ({"online_step": [1, 2], "share": 0.9}, "none to fit")):
        with pytest.raises(UserError, match=needle):
            latest_split(**bad)


def test_the_latest_split_of_the_baseline_scores_only_the_held_back_sites():
    from experiments.validation import validate_location

    r = validate_location("baseline", split="latest")
    f = r.folds
    assert len(f) == len(MODELS) and (f["n_train"] + f["n_test"] == r.observations).all()
    assert f["n_test"].iloc[0] >= 0.3 * r.observations and r.paired["n"] == f["n_test"].iloc[0]
    assert "coming online last" in r.text()
    with pytest.raises(UserError, match="split = 'random'"):
        validate_location("baseline", split="random")


def test_value_terms_give_the_models_value_mode_utility():
    """The announced-site fit in value mode scores regions as the model does (decisions.value_utility): the money
    rows of the terms replaced by the relative profitability index − 1 in the subsidy slot, w_value there."""
    from model import load_scenario
    from model.phases import invest

    rng = np.random.default_rng(5)
    terms = rng.normal(size=(len(decisions.TERMS), 1, 6))
    index = np.array([[1.2, 0.9, -np.inf, 1.0, 1.4, 0.7]])
    allowed = np.isfinite(index)
    spec = load_scenario("baseline", **{"params.location_money": "value", "params.w_value": 2.5})
    contrib, _ = decisions.location_utility(terms, invest.term_weights(spec))
    v_model = decisions.value_utility(contrib, index, spec.params.w_value, allowed)
    vt = value_terms(terms[:, 0, :], index[0])
    _, v_fit = decisions.location_utility(vt, mode_weights(spec))
    assert v_fit == pytest.approx(v_model[0])
    assert mode_weights(spec)[weight_slot("w_value", "value")] == 2.5
    with pytest.raises(ValueError, match="w_risk.*not a weight of location_money = 'value'"):
        weight_slot("w_risk", "value")
