"""Zoo keys: a method's zoo_version enters the key only once bumped, so every other key stays."""
from dataclasses import asdict

from shortcutbench.train import METHODS
from shortcutbench.utils.fingerprint import hash_config
from shortcutbench.zoo import ZOO_VERSION, ZooSpec


def _unversioned(spec: ZooSpec, fp: str) -> str:
    return hash_config({"spec": asdict(spec), "data": fp, "zoo": ZOO_VERSION}, n=20)


def test_method_version_changes_only_its_own_keys():
    assert METHODS.get("erm").zoo_version == 1
    erm = ZooSpec(method="erm", seed=3)
    assert erm.key("fp") == _unversioned(erm, "fp")
    assert METHODS.get("saliency_bg").zoo_version >= 2
    sal = ZooSpec(method="saliency_bg", seed=3)
    assert sal.key("fp") != _unversioned(sal, "fp")
    assert sal.key("fp") == ZooSpec(method="saliency_bg", seed=3).key("fp")  # still deterministic
