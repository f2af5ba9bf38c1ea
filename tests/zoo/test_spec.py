"""Zoo keys: a method's zoo_version enters the key only once bumped, so every other key stays."""
from shortcutbench.train import METHODS
from shortcutbench.zoo import ZooSpec

# Keys computed by the code before per-method versions existed (commit 8601b82): the cache entries
# (and committed records' zoo keys) of every unbumped method must keep them.
KEY_BEFORE_VERSIONS = {"erm": "280b6a71fc37f137d5c0", "saliency_bg": "f87d89f504abf160fe67"}


def test_method_version_changes_only_its_own_keys():
    assert METHODS.get("erm").zoo_version == 1
    assert ZooSpec(method="erm", seed=3).key("fp") == KEY_BEFORE_VERSIONS["erm"]
    assert METHODS.get("saliency_bg").zoo_version >= 2
    sal = ZooSpec(method="saliency_bg", seed=3)
    assert sal.key("fp") != KEY_BEFORE_VERSIONS["saliency_bg"]
    assert sal.key("fp") == ZooSpec(method="saliency_bg", seed=3).key("fp")  # still deterministic
