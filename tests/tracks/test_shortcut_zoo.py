"""Which shipped zoo models the shortcut track scores: the seeds asked for, below each run's count."""
from shortcutbench.tracks.shortcut_zoo import shipped_models
from shortcutbench.zoo import catalogue


def test_shipped_models_takes_the_seeds_asked_for_below_each_runs_count():
    picked = list(shipped_models(("erm",), [1, 2, 99]))
    assert picked, "the catalogue has ERM runs"
    for name, run, _, seed in picked:
        assert run.method == "erm" and seed in (1, 2) and seed < run.seeds
    runs = {name: run for name, (run, _) in catalogue.shipped_names().items() if run.method == "erm"}
    assert sorted((n, s) for n, _, _, s in picked) == sorted(
        (n, s) for n, r in runs.items() for s in (1, 2) if s < r.seeds)
