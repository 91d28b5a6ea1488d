"""gpsim calibrate: targets files, the reader of outputs, history matching in quick mode, resume, ensembles."""

from __future__ import annotations

import json
import math
import shutil
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import gpsim
from gpsim.calibrate.targets import CUTOFF, Output, OutputMissingError, from_dict, load
from gpsim.cli import main
from gpsim.errors import ExperimentError, ParameterError

pytest.importorskip("sklearn")

ENGLAND = Path(__file__).resolve().parent.parent / "experiments" / "calibrate-england.toml"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration") / "quick"
    code = main(["calibrate", str(ENGLAND), "--quick", "--out", str(out), "--quiet"])
    return code, out


def _final_table(folder: Path) -> pd.DataFrame:
    from gpsim.sweep.store import SweepStore

    store = SweepStore(folder / "runs")
    return store.runs().merge(store.final(), on="run_key")


# --- the quick calibration -------------------------------------------------------------------------------
def test_quick_calibration_writes_every_output(quick):
    code, out = quick
    assert code == 0
    for name in ("targets.csv", "posterior.parquet", "report.html", "calibrated.toml", "calibration.json"):
        assert (out / name).is_file(), name
    wave = out / "waves" / "wave-1"
    assert (wave / "design.csv").is_file() and (wave / "emulators.csv").is_file()
    cal = load(ENGLAND)
    design = pd.read_csv(wave / "design.csv")
    assert len(design) == cal.quick_waves.runs and list(design.columns) == cal.names
    for name, (lo, hi) in cal.parameters.items():  # the first wave covers the prior box and stays inside it
        assert design[name].between(lo, hi).all()
        assert design[name].max() - design[name].min() > 0.7 * (hi - lo)


def test_targets_table_rows_samples_and_pass_shares_follow_the_runs(quick):
    _, out = quick
    cal = load(ENGLAND)
    table = pd.read_csv(out / "targets.csv")
    assert table["target"].tolist() == [t.name for t in cal.targets]
    assert dict(zip(table["target"], table["sample"], strict=True)) == {
        t.name: {"train": "in-sample", "test": "out-of-sample"}[t.period] for t in cal.targets
    }
    prior = _final_table(out / "waves" / "wave-1")
    post = _final_table(out / "posterior")
    factor = 1200 / 8100
    for t in cal.targets:
        row = table.set_index("target").loc[t.name]
        obs, sd = t.observed, math.sqrt(t.observation_sd**2 + t.discrepancy_sd**2)
        if t.scales_with_size:
            obs, sd = obs * factor, sd * factor
        assert row["observed"] == pytest.approx(obs)
        if row["status"] != "ok":
            continue
        values = prior[f"target:{t.name}"].to_numpy(float)
        share = float(np.mean(np.abs(values - obs) <= 3 * sd))
        assert row["prior_pass_share"] == pytest.approx(share)
        assert row["informative"] == ("uninformative" if share > 0.9 else "informative")
        q = post[f"target:{t.name}"].to_numpy(float)
        q = q[np.isfinite(q)]
        assert row["posterior_mean"] == pytest.approx(q.mean())
        assert row["posterior_low95"] <= row["posterior_mean"] <= row["posterior_high95"]


def test_outputs_this_model_lacks_are_reported_not_available(quick):
    """A target is 'not available' exactly when a plain run has no such column or ledger entry."""
    _, out = quick
    cal = load(ENGLAND)
    r = gpsim.run(cal.base_params(quick=True).replace(years=0.5), seed=0)
    table = pd.read_csv(out / "targets.csv").set_index("target")
    for t in cal.targets:
        source, _, rest = t.output.partition(":")
        key = rest.split("@")[0]
        if source == "steps":
            present = key in r.steps.columns
        elif source == "ledger":
            present = key in r.ledger
        else:
            present = True
        expected = "ok" if present else "not available in this model version"
        assert table.loc[t.name, "status"] == expected, t.name


def test_posterior_stays_in_the_prior_and_point_estimate_is_a_loadable_parameter_file(quick, capsys):
    _, out = quick
    cal = load(ENGLAND)
    post = pd.read_parquet(out / "posterior.parquet")
    assert len(post) > 0 and post["weight"].sum() == pytest.approx(1.0)
    assert (post["max_implausibility"] < CUTOFF).all()
    for name, (lo, hi) in cal.parameters.items():
        assert post[name].between(lo, hi).all()
    point = tomllib.loads((out / "calibrated.toml").read_text())
    unit = np.column_stack([(post[n] - lo) / (hi - lo) for n, (lo, hi) in cal.parameters.items()])
    good = post["max_implausibility"] <= post["max_implausibility"].median()
    distance = np.linalg.norm(unit - np.median(unit, axis=0), axis=1)
    best = post[good].iloc[int(np.argmin(distance[good.to_numpy()]))]
    for name in cal.names:
        assert point["params"][name] == pytest.approx(best[name])
    from gpsim import paramfile

    p = paramfile.load(out / "calibrated.toml")
    assert p.n_practices == 1200 and p.start_year == 2013  # the quick region and the scenario's timeline
    assert main(["run", "--params", str(out / "calibrated.toml"), "--years", "0.5", "--quiet"]) == 0


def test_point_estimate_is_a_central_well_fitting_draw_not_an_edge():
    from gpsim.calibrate.waves import central_point

    unit = np.array([[0.0, 0.0], [0.5, 0.5], [0.45, 0.55], [1.0, 1.0], [0.9, 0.1]])
    imp = np.array([0.1, 2.9, 1.0, 1.5, 0.5])  # the best fit sits in a corner
    assert central_point(unit, imp) == 2  # fits at least as well as the median (1.0) and is nearest the centre
    assert central_point(unit[:1], imp[:1]) == 0


def test_report_is_one_self_contained_page(quick):
    _, out = quick
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert "http://" not in page and "https://" not in page and "<script" not in page
    table = pd.read_csv(out / "targets.csv")
    assert ("not available in this model version" in page) == (table["status"] != "ok").any()
    assert ("<td class=l>uninformative</td>" in page) == (table["informative"] == "uninformative").any()
    meta = json.loads((out / "calibration.json").read_text())
    assert meta["complete"] and len(meta["waves"]) == 1
    assert 0.0 <= meta["waves"][0]["nroy_share_of_prior"] <= 1.0


def test_resuming_a_finished_calibration_keeps_its_time(quick, monkeypatch):
    """The record's times are the calibration's: a resume that runs nothing (even after one that was stopped
    part-way, when calibration.json is gone) keeps them and is listed as a session of its own."""
    from gpsim.calibrate import waves

    _, out = quick
    before = json.loads((out / "calibration.json").read_text())
    args = ["calibrate", str(ENGLAND), "--quick", "--out", str(out), "--quiet", "--resume"]
    with monkeypatch.context() as m:
        m.setattr(waves, "emulate", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
        assert main(args) == 130
    assert not (out / "calibration.json").exists()
    assert main(args) == 0
    after = json.loads((out / "calibration.json").read_text())
    timing = ("run_seconds", "fit_seconds", "seconds")
    assert after["seconds"] == before["seconds"] and after["posterior_seconds"] == before["posterior_seconds"]
    assert [[w[k] for k in timing] for w in after["waves"]] == [[w[k] for k in timing] for w in before["waves"]]
    assert after["sessions"][:-1] == before["sessions"] and after["sessions"][-1]["runs"] == 0
    assert sum(w["fit_seconds"] for w in after["waves"]) <= after["seconds"]


def test_a_calibration_stopped_before_its_posterior_runs_resumes_only_those(quick):
    """As after a crash: the waves' runs are stored, the posterior's and the summary files are not."""
    import shutil

    _, out = quick
    before = pd.read_csv(out / "targets.csv")
    shutil.rmtree(out / "posterior")
    for name in ("calibration.json", "targets.csv", "report.html"):
        (out / name).unlink()
    assert main(["calibrate", str(ENGLAND), "--quick", "--out", str(out), "--quiet", "--resume"]) == 0
    wave = json.loads((out / "waves" / "wave-1" / "runs" / "manifest.json").read_text())
    post = json.loads((out / "posterior" / "runs" / "manifest.json").read_text())
    assert wave["sessions"][-1]["ran"] == 0 and post["sessions"][-1]["ran"] == load(ENGLAND).quick_waves.posterior_runs
    pd.testing.assert_frame_equal(pd.read_csv(out / "targets.csv"), before)  # same seeds, same figures


def test_a_used_folder_is_refused_without_resume(quick, capsys):
    _, out = quick
    assert main(["calibrate", str(ENGLAND), "--quick", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--resume" in err


# --- a calibration folder is self-contained, and a refused resume leaves it as it was ------------------------
def _resume(out: Path, targets: Path = ENGLAND) -> int:
    return main(["calibrate", str(targets), "--quick", "--out", str(out), "--quiet", "--resume"])


def _manifests(folder: Path) -> list[Path]:
    return sorted(folder.glob("**/runs/manifest.json"))


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (a lock file's bytes are the id of whoever last locked it)."""
    return {
        str(p.relative_to(folder)): b"" if p.name == ".lock" else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_moved_calibration_folder_resumes_from_its_own_files(quick, tmp_path):
    """Copied from a laptop to a cluster (or renamed), a folder resumes running nothing, and its records name
    no file outside it: the wave designs are recorded relative to the folder."""
    _, out = quick
    moved = tmp_path / "cluster" / "calibration"
    shutil.copytree(out, moved)
    assert _resume(moved) == 0
    assert (moved / "calibration.json").is_file()
    for path in _manifests(moved):
        manifest = json.loads(path.read_text())
        assert manifest["sessions"][-1]["ran"] == 0, path
        assert not Path(manifest["experiment"]["design"]["file"]).is_absolute()
    for path in moved.rglob("*.json"):
        assert str(out) not in path.read_text(), path
    pd.testing.assert_frame_equal(pd.read_csv(moved / "targets.csv"), pd.read_csv(out / "targets.csv"))


def test_a_folder_whose_records_hold_absolute_paths_still_resumes_after_a_move(quick, tmp_path):
    """Folders made before designs were recorded relative to the folder name each wave's design.csv by an
    absolute path (in each sweep's manifest and its hash). Moved, they read design.csv from inside the folder."""
    import hashlib

    from gpsim.sweep.manifest import identity
    from gpsim.sweep.spec import canonical_json

    _, out = quick
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    old_place = Path("/no/longer/here/calibration")
    for path in _manifests(moved):
        manifest = json.loads(path.read_text())
        design = str(old_place / path.parent.parent.relative_to(moved) / "design.csv")
        manifest["experiment"]["design"]["file"] = design
        manifest["experiment_file"] = design
        manifest["experiment_hash"] = hashlib.sha256(
            canonical_json(identity(manifest["experiment"])).encode()
        ).hexdigest()
        path.write_text(json.dumps(manifest, indent=2))
    assert _resume(moved) == 0
    assert (moved / "calibration.json").is_file()
    assert all(json.loads(p.read_text())["sessions"][-1]["ran"] == 0 for p in _manifests(moved))


def _spoil_targets(folder: Path) -> Path:
    changed = folder.parent / "changed.toml"
    changed.write_text(ENGLAND.read_text().replace("seed = 2013", "seed = 2014", 1))
    return changed


def _spoil_design(folder: Path) -> Path:
    design = folder / "waves" / "wave-1" / "design.csv"
    frame = pd.read_csv(design)
    frame.iloc[0, 0] = frame.iloc[1, 0]
    frame.to_csv(design, index=False)
    return ENGLAND


def _spoil_posterior_design(folder: Path) -> Path:
    design = folder / "posterior" / "design.csv"
    design.write_text(design.read_text().replace("\n", "\n\n", 1))  # same points, other bytes than the runs'
    return ENGLAND


def _remove_design(folder: Path) -> Path:
    (folder / "waves" / "wave-1" / "design.csv").unlink()
    return ENGLAND


def _remove_manifest(folder: Path) -> Path:
    (folder / "waves" / "wave-1" / "runs" / "manifest.json").unlink()
    return ENGLAND


def _spoil_record(folder: Path) -> Path:
    (folder / "started.json").write_text("{")
    return ENGLAND


@pytest.mark.parametrize(
    "spoil, words",
    [
        (_spoil_targets, "different targets file"),
        (_spoil_design, "waves/wave-1/design.csv"),
        (_spoil_posterior_design, "posterior/design.csv"),
        (_remove_design, "waves/wave-1/design.csv is missing"),
        (_remove_manifest, "manifest.json is missing"),
        (_spoil_record, "started.json"),
    ],
    ids=["settings-differ", "design-edited", "posterior-design-edited", "design-missing", "manifest-missing", "record"],
)
def test_a_refused_resume_leaves_the_folder_exactly_as_it_was(quick, tmp_path, capsys, spoil, words):
    """Every check passes before anything in the folder is removed or written (calibration.json included)."""
    _, out = quick
    folder = tmp_path / "calibration"
    shutil.copytree(out, folder)
    targets = spoil(folder)
    before = _files(folder)
    capsys.readouterr()
    assert _resume(folder, targets) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(folder) in err and words in err, err
    assert _files(folder) == before


@pytest.mark.parametrize("make", [False, True], ids=["missing", "other-files"])
def test_resuming_where_there_is_no_calibration_is_refused_and_changes_nothing(make, tmp_path, capsys):
    folder = tmp_path / "calibration"
    if make:
        folder.mkdir()
        (folder / "notes.txt").write_text("not a calibration")
    assert _resume(folder) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{folder} holds no calibration to continue" in err
    # the way out it names is one a fresh calibration would take: a folder holding other files is refused
    assert ("choose another --out" in err) if make else ("leave out --resume to start one there" in err), err
    assert (sorted(p.name for p in folder.iterdir()) == ["notes.txt"]) if make else not folder.exists()


def test_a_design_the_model_refuses_is_refused_before_the_folder_is_made(tmp_path, capsys):
    """A calibration whose first wave holds an impossible setting (more CCGs than practices) writes nothing."""
    bad = tmp_path / "ccgs.toml"
    text = ENGLAND.read_text().replace("fixed = { n_practices = 1200, n_ccgs = 31 }", "fixed = { n_practices = 40 }")
    bad.write_text(text.replace("[parameters]\n", "[parameters]\nn_ccgs = [1, 200]\n", 1))
    out = tmp_path / "c"
    assert main(["calibrate", str(bad), "--out", str(out), "--quick", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "n_ccgs" in err and str(bad) in err, err
    assert not out.exists()


# --- ensembles -----------------------------------------------------------------------------------------
def test_ensemble_runs_posterior_draws_with_their_own_seeds(quick):
    _, out = quick
    ens = gpsim.run(posterior=out, samples=3, seed=5, years=2.0)
    post = pd.read_parquet(out / "posterior.parquet")
    cal = load(ENGLAND)
    assert len(ens.members) == 3 and len(ens.draws) == 3
    assert len({json.dumps(m.seed) for m in ens.members}) == 3
    for m, (_, d) in zip(ens.members, ens.draws.iterrows(), strict=True):
        row = post.iloc[int(d["posterior_row"])]
        for name in cal.names:
            assert getattr(m.params, name) == pytest.approx(row[name])
        assert m.params.n_practices == 1200 and m.params.years == 2.0
    band = ens.band("n_practices_open")
    stack = np.stack([m.steps["n_practices_open"].to_numpy(float) for m in ens.members])
    np.testing.assert_allclose(band["median"], np.median(stack, axis=0))
    assert (band["p05"] <= band["median"]).all() and (band["median"] <= band["p95"]).all()
    again = gpsim.run(posterior=out, samples=3, seed=5, years=2.0)
    pd.testing.assert_frame_equal(again.bands, ens.bands)


def test_samples_need_a_posterior_and_a_wrong_folder_is_one_line(tmp_path, capsys):
    with pytest.raises(ParameterError):
        gpsim.run("baseline", samples=3)
    assert main(["run", "--posterior", str(tmp_path), "--samples", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a finished calibration" in err


# --- reading outputs -------------------------------------------------------------------------------------
def _fake_results():
    p = gpsim.Params(start_year=2013, start_month=1, years=3.0)
    steps = pd.DataFrame({"step": np.arange(37), "n": np.arange(37, dtype=float) * 2 + 100})
    closures = pd.DataFrame({"step": [2, 5, 14, 20, 30], "kind": ["closure", "merger", "merger", "closure", "merger"]})
    orgs = pd.DataFrame(
        {
            "founded_step": [1, 3, 20],
            "first_benefit_step": pd.array([25, pd.NA, 30], dtype="Int64"),  # missing: never delivered
            "dissolved_step": [pd.NA, 10, pd.NA],
            "peak_population": [40_000.0, 90_000.0, 10_000.0],
        }
    )
    ledger = {"pump_priming: Challenge Fund wave 1": 5.0e7, "pump_priming: Vanguards": 1.0e8, "subscriptions": 3.0}
    return SimpleNamespace(steps=steps, final={"x": 4.5}, orgs=orgs, closures=closures, ledger=ledger, params=p)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("steps:n@2013-01", 100.0),
        ("steps:n@2014-01", 124.0),  # month 12
        ("steps:n@2014-01..2014-03:mean", 126.0),  # months 12-14: 124, 126, 128
        ("steps:n@2014-01..2014-03:sum", 378.0),
        ("steps:n@2013-01..2015-01:change_per_year", (148 / 100) ** 0.5 - 1),
        ("final:x", 4.5),
        ("closures:count_per_year@2013-01..2013-12", 2.0),  # steps 2 and 5 in months 0-11
        ("closures:share_closures", 2 / 5),
        ("orgs:median_months_to_first_benefit", 17.0),  # delays 24 and 10
        ("orgs:count_founded@2013-01..2013-12", 2.0),
        ("orgs:largest_peak_population", 90_000.0),
        ("ledger:challenge_fund_wave1", 5.0e7),  # the model's name for it, or any spelling of the same letters
        ("ledger:Challenge Fund wave 1", 5.0e7),
        ("ledger:subscriptions", 3.0),
    ],
)
def test_outputs_read_the_right_figure(text, expected):
    assert Output.parse(text, "test").read(_fake_results()) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["steps:share_practices_in_pcn@2014-01", "final:nothing", "ledger:challenge_fund"])
def test_an_output_the_run_lacks_is_missing_not_a_crash(text):
    # "challenge_fund" matches two ledger entries' ends only partly and none wholly: not guessed
    with pytest.raises(OutputMissingError):
        Output.parse(text, "test").read(_fake_results())


# --- bad targets files -------------------------------------------------------------------------------------
def _base() -> dict:
    import copy

    from conftest import VALID_TARGETS

    return copy.deepcopy(VALID_TARGETS)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d.update(targets=[]), "unknown key; did you mean target?"),
        (lambda d: d["target"][0].update(period="2015"), "must be train or test"),
        (lambda d: d["target"][0].update(output="steps:n_practices_open@2025-01"), "outside the run"),
        (lambda d: d["target"][0].update(output="steps:n_practices_open"), "needs a date"),
        (lambda d: d["target"][0].update(output="orgs:nonsense"), "unknown orgs statistic"),
        (lambda d: d["target"][0].update(observation_sd=0, discrepancy_sd=0), "cannot both be 0"),
        (lambda d: d["parameters"].update(founding_rate=[0.0, 0.5]), "out of range"),
        (lambda d: d["parameters"].update(policy_timeline={}), "only numeric parameters"),
        (lambda d: d["parameters"].update(founding_rat={}), "founding_rate"),
        (lambda d: d["target"][0].update(period="test"), "needs at least one train target"),
    ],
)
def test_bad_targets_files_are_refused_with_one_line(change, words):
    data = _base()
    change(data)
    with pytest.raises(ExperimentError) as err:
        from_dict(data, source="t.toml")
    message = str(err.value)
    assert words in message and "\n" not in message and message.startswith("t.toml")


def test_bad_file_from_the_command_line_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('scenario = "england-2013"\n[parameters]\nfounding_rate = [0.002, 0.03]\n')
    out = tmp_path / "c"
    assert main(["calibrate", str(bad), "--out", str(out), "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "[[target]]" in err
    assert not out.exists()


# --- the emulator -----------------------------------------------------------------------------------------
def test_emulator_learns_a_smooth_function_and_implausibility_rules_out_far_settings():
    from gpsim.calibrate.emulator import fit

    rng = np.random.default_rng(0)
    x = rng.random((60, 2))
    y = 10 * x[:, 0] + np.sin(3 * x[:, 1]) + rng.normal(0, 0.1, 60)
    em = fit("f", x, y, seed=1)
    test = rng.random((200, 2))
    truth = 10 * test[:, 0] + np.sin(3 * test[:, 1])
    mean, var = em.predict(test)
    assert np.sqrt(np.mean((mean - truth) ** 2)) < 0.3
    assert em.diagnostics["holdout_r2"] > 0.95
    assert 0.03 < math.sqrt(em.noise_var) < 0.3  # the run-to-run noise (sd 0.1) is estimated, not absorbed
    # observed 5 with sd 0.2: x0 near 0.5 is plausible, x0 near 0 or 1 is ruled out
    imp = em.implausibility(np.array([[0.45, 0.5], [0.02, 0.5], [0.98, 0.5]]), 5.0 + np.sin(1.5) - 0.5, 0.04)
    assert imp[0] < CUTOFF < min(imp[1], imp[2])


def test_emulators_fitted_in_parallel_are_the_serial_ones(monkeypatch):
    from gpsim.calibrate import emulator
    from gpsim.calibrate.emulator import fit_many

    monkeypatch.setattr(emulator, "PARALLEL_MIN_RUNS", 0)  # a small wave, in worker processes all the same

    rng = np.random.default_rng(3)
    x = rng.random((40, 3))
    outputs = {
        "smooth": 4 * x[:, 0] + np.cos(2 * x[:, 1]) + rng.normal(0, 0.05, 40),
        "noisy": rng.normal(0, 1, 40),
        "flat": np.full(40, 2.0),
    }
    serial = fit_many(outputs, x, seed=5, workers=1)
    parallel = fit_many(outputs, x, seed=5, workers=2, expected_seconds={"flat": 9.0, "noisy": 5.0})
    assert list(parallel) == list(outputs)
    test = rng.random((50, 3))
    for name in outputs:
        untimed = [
            {k: v for k, v in em.diagnostics.items() if k != "fit_seconds"} for em in (serial[name], parallel[name])
        ]
        assert untimed[0] == untimed[1]
        for a, b in zip(serial[name].predict(test), parallel[name].predict(test), strict=True):
            np.testing.assert_array_equal(a, b)
    assert serial["flat"].gp is None and serial["flat"].constant == 2.0


def test_random_restarts_only_where_the_held_out_check_is_poor_and_no_worse_fit_without_them():
    """The final fit starts from the held-out fit's hyperparameters; where that check is good it reaches the
    likelihood scikit-learn's own two random restarts from the default start reach."""
    from sklearn.gaussian_process import GaussianProcessRegressor

    from gpsim.calibrate import emulator

    rng = np.random.default_rng(0)
    x = rng.random((100, 3))
    y = 10 * x[:, 0] + np.sin(3 * x[:, 1]) + rng.normal(0, 0.1, 100)
    good = emulator.fit("good", x, y, seed=2)
    check = good.diagnostics["holdout_r2"], good.diagnostics["holdout_coverage95"]
    assert check[0] >= emulator.GOOD_R2 and check[1] >= emulator.GOOD_COVERAGE and good.diagnostics["restarts"] == 0
    reference = emulator._gp(3, 2, restarts=emulator.RESTARTS)
    assert isinstance(reference, GaussianProcessRegressor)
    reference.fit(x, y)
    assert good.gp.log_marginal_likelihood_value_ >= reference.log_marginal_likelihood_value_ - 0.1
    poor = emulator.fit("poor", x, rng.normal(0, 1, 100), seed=2)  # noise: nothing to predict held-out runs from
    assert poor.diagnostics["holdout_r2"] < emulator.GOOD_R2 and poor.diagnostics["restarts"] == emulator.RESTARTS


def test_refitting_a_finished_calibration_from_its_stored_runs_gives_its_region(quick):
    """Same runs, same seed: the emulators refitted by benchmarks/emulators.py keep the candidates the
    calibration kept, and are checked on the posterior runs they never saw."""
    from benchmarks.emulators import refit

    _, out = quick
    meta = json.loads((out / "calibration.json").read_text())
    record = refit(out, workers=1, log=lambda text: None)
    assert [w["candidates_kept"] for w in record["waves"]] == [w["candidates_kept"] for w in meta["waves"]]
    wave = record["waves"][0]
    assert wave["tested_on"] == "posterior" and wave["quality"]
    for q in wave["quality"].values():
        assert 0.0 <= q["coverage95"] <= 1.0 and q["rms_z"] > 0
