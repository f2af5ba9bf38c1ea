"""The seed-regime catalogue: one name, one model; every mitigation has a control with its
optimiser family and budget; budgets follow the seed's sections."""
from shortcutbench.train.helpers import AdamMethod
from shortcutbench.train import METHODS
from shortcutbench.zoo import catalogue as cat


def test_every_name_is_one_model():
    names = [n for run in cat.CATALOGUE for n, _ in run.snapshots]
    assert len(names) == len(set(names))
    assert len(cat.shipped_names()) == len(names)


def test_seed_budgets():
    runs = {r.run: r for r in cat.CATALOGUE}
    # seed 000 §6.1 (DANN-FixA) and §6.3 (CF-INVAR): 15 epochs, batch 128; §6.2 saliency: 9 epochs
    for name, epochs in (("lazy_cnn.dann_fixa", 15), ("lazy_cnn.cf_invar", 15), ("lazy_cnn.saliency_bg", 9),
                         ("lazy_cnn.saliency_stroke", 9)):
        assert runs[name].train.epochs == epochs and runs[name].train.batch_size == 128
        assert runs[name].train.samples == epochs * 469 * 128  # ceil(60,000 / 128) steps an epoch
        assert runs[name].seeds >= 5
    erm = cat.shipped_names()["lazy_cnn.erm"]
    assert erm[1] == 4 and erm[0].train.batch_size == 64  # seed 000 §3.3: 4 epochs of SGD


def test_every_method_has_a_matched_control_at_its_budget():
    names = cat.shipped_names()
    for run in cat.CATALOGUE:
        if run.group != "main":
            continue
        control_run, epoch = names[cat.matched_control(run.method)]
        assert epoch == run.train.epochs
        adam = issubclass(METHODS.get(run.method), AdamMethod)
        assert control_run.method == ("erm_adam" if adam else "erm")
        assert control_run.train.batch_size == run.train.batch_size and control_run.train.lr == run.train.lr
        assert control_run.seeds >= run.seeds
