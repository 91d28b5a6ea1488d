"""Scenario discovery: under which conditions do organisations survive the funding cliff? (docs/EMA.md)

Runs gpsim as an EMA Workbench model over a Latin hypercube of the money and leadership assumptions, marks the
experiments in which at least half the organisations were still alive 36 months after their one-off money ended,
finds the box of conditions that holds most of them (PRIM), scores every assumption's influence (extra trees),
and writes the figures and tables into docs/figures/ (or the folder given)::

    python experiments/funding_cliff_prim.py                 # 300 experiments x 3 runs, 3-4 minutes on 2 cores
    python experiments/funding_cliff_prim.py --experiments 80 --out /tmp/prim
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator  # noqa: E402
from ema_workbench.analysis import feature_scoring, prim  # noqa: E402

import gpsim.ema  # noqa: E402

UNCERTAINTIES = {
    "pump_priming_per_patient": [2.5, 20.0],  # GBP per patient per year of one-off money
    "pump_priming_months": [12, 48],  # how long it lasts
    "subscription_per_patient": [0.0, 3.0],  # members' own yearly subscription, GBP per patient
    "org_cost_per_patient": [1.0, 4.0],  # an organisation's running cost, GBP per patient per year
    "benefit_share_paid": [0.2, 0.8],  # share of the benefit they have seen members will pay back in subscription
    "distributed_leadership_share": [0.0, 1.0],  # share of organisations led by a team, not one GP
    "leader_burnout_rate": [0.0, 0.06],  # monthly chance a heroic leader burns out
    "difficult_history": [0.0, 0.6],  # how badly past joint working went
}
OUTCOMES = ["survival_36m_after_one_off", "survival_36m_after_one_off_n", "n_orgs", "share_population_committable"]
#: "Organisations survive the funding cliff": at least half alive 36 months after their one-off money ended.
SURVIVED = 0.5
#: The share of experiments in a box in which organisations survived that PRIM's box should reach.
MIN_DENSITY = 0.8


def _limits(limits) -> dict:
    """A PRIM box's limits as plain numbers: min, max and the two quasi-p values (None where not restricted)."""
    return {
        name: {
            "min": float(row.iloc[0]),
            "max": float(row.iloc[1]),
            "qp": [float(v) if v == v else None for v in row.iloc[2:]],
        }
        for name, row in limits.iterrows()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", type=int, default=300)
    ap.add_argument("--processes", type=int, default=2, help="1 = in this process")
    ap.add_argument("--save-data", action="store_true", help="also write the experiments and outcomes (.npz)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "figures")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    # three replications per experiment: each outcome is their mean, so chance in one run decides less
    model = gpsim.ema.model(
        scenario="funding-cliff", uncertainties=UNCERTAINTIES, outcomes=OUTCOMES, replications=3, seed=24
    )
    sampling = {"rng": 24}
    if args.processes > 1:
        with MultiprocessingEvaluator(model, n_processes=args.processes) as evaluator:
            x, y = evaluator.perform_experiments(args.experiments, uncertainty_sampling_kwargs=sampling)
    else:
        with SequentialEvaluator(model) as evaluator:
            x, y = evaluator.perform_experiments(args.experiments, uncertainty_sampling_kwargs=sampling)
    x = x[list(UNCERTAINTIES)]
    n_all = len(x)
    # survival is missing where no organisation's money ended 36 months before the end: not a yes or a no
    x, y = gpsim.ema.complete(x, y, ["survival_36m_after_one_off"])
    survived = y["survival_36m_after_one_off"] >= SURVIVED

    p = prim.Prim(x, survived, peel_alpha=0.05)
    box = p.find_box()
    # the box that covers the most cases of survival while at least 80% of its experiments are cases (or the
    # densest, if none is that dense); then every restriction that is not significant (both qp values above 0.05)
    # is dropped, as scenario discovery recommends (Bryant and Lempert 2010)
    peel = box.peeling_trajectory
    dense = peel[peel["density"] >= MIN_DENSITY]
    peeled = int(dense["coverage"].idxmax()) if len(dense) else int(peel["density"].idxmax())
    box.select(peeled)
    peeled_stats, limits = box.inspect(peeled, style="data")[0]
    peeled_limits = limits
    for name, row in limits.iterrows():
        qp = [v for v in row.iloc[2:] if v == v]
        if qp and min(qp) > 0.05:
            box.drop_restriction(name)
    peel = box.peeling_trajectory
    chosen = int(peel.index[-1])
    fig = box.show_tradeoff()
    fig.set_size_inches(6.5, 5)
    ax = fig.axes[0]
    ax.plot(peel.loc[chosen, "coverage"], peel.loc[chosen, "density"], "o", ms=14, mfc="none", mec="red", mew=2)
    ax.annotate(
        f"box {chosen}",
        (peel.loc[chosen, "coverage"], peel.loc[chosen, "density"]),
        xytext=(8, 8),
        textcoords="offset points",
        color="red",
    )
    ax.set_title("PRIM peeling trajectory: organisations survive the funding cliff", fontsize=10)
    fig.savefig(args.out / "prim-tradeoff.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    box.select(chosen)
    box.inspect(chosen, style="graph")
    fig = plt.gcf()
    fig.set_size_inches(7, 3.2)
    fig.savefig(args.out / "prim-box.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    stats, limits = box.inspect(chosen, style="data")[0]  # only the restricted parameters, with their qp values

    scores = feature_scoring.get_feature_scores_all(
        x, {"survived the cliff (36 m)": survived.astype(int), **{k: y[k] for k in OUTCOMES[2:]}}
    )
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    im = ax.imshow(scores.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_xticks(range(scores.shape[1]), scores.columns, rotation=25, ha="right", fontsize=8)
    ax.set_yticks(range(scores.shape[0]), scores.index, fontsize=8)
    for (i, j), v in np.ndenumerate(scores.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if v < 0.3 else "k")
    fig.colorbar(im, ax=ax, label="feature score (extra trees)")
    ax.set_title("Which assumptions drive each outcome", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out / "feature-scores.png", dpi=100)
    plt.close(fig)

    summary = {
        "experiments": n_all,
        "with_survival_known": len(x),
        "peeled_box": {
            "id": peeled,
            "coverage": float(peeled_stats["coverage"]),
            "density": float(peeled_stats["density"]),
            "limits": _limits(peeled_limits),
        },
        "reported_box": chosen,
        "survived_share": float(survived.mean()),
        "box": _limits(limits),
        "coverage": float(stats["coverage"]),
        "density": float(stats["density"]),
        "mass": float(stats["mass"]),
        "feature_scores": scores.round(3).to_dict(),
    }
    if args.save_data:  # the experiments and outcomes, to try other boxes without rerunning the model
        np.savez_compressed(
            args.out / "prim-funding-cliff-data.npz",
            x=x.to_numpy(),
            columns=np.array(x.columns),
            **{k: np.asarray(v) for k, v in y.items()},
        )
    (args.out / "prim-funding-cliff.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "feature_scores"}, indent=2))


if __name__ == "__main__":
    main()
