"""utils/config.py: `--set` text to typed values, without eval."""
from dataclasses import dataclass
from typing import Optional, Tuple

import pytest

from shortcutbench.errors import UsageError
from shortcutbench.utils.config import config_from_strings, convert, parse_assignments, split_list


@dataclass(frozen=True)
class _Cfg:
    n: int = 1
    rate: float = 0.5
    name: str = "a"
    flag: bool = False
    sizes: Tuple[int, ...] = (1,)
    cap: Optional[int] = None


@pytest.mark.parametrize("text, tp, value", [
    ("3", int, 3), ("0.25", float, 0.25), ("x", str, "x"), ("yes", bool, True), ("off", bool, False),
    ("1, 2,,3", Tuple[int, ...], (1, 2, 3)), ("none", Optional[int], None), ("7", Optional[int], 7),
])
def test_convert_types(text, tp, value):
    assert convert(text, tp, "k") == value


@pytest.mark.parametrize("text, tp, fragment", [
    ("x", int, "--set k=x: expected int"), ("maybe", bool, "--set k=maybe: expected bool"),
    ("1,x", Tuple[int, ...], "--set k=1,x: expected Tuple"),
])
def test_convert_refuses_with_one_line(text, tp, fragment):
    with pytest.raises(UsageError, match=fragment):
        convert(text, tp, "k")


def test_convert_refuses_types_it_cannot_read():
    with pytest.raises(UsageError, match="unsupported field type"):
        convert("1", dict, "k")


def test_parse_assignments_splits_at_the_first_equals_sign():
    assert parse_assignments(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(UsageError, match="key=value"):
        parse_assignments(["novalue"])


def test_config_from_strings_over_a_base_and_unknown_keys():
    base = _Cfg(n=5, name="base")
    cfg = config_from_strings(_Cfg, {"rate": "0.1", "sizes": "2,4", "cap": "9"}, base)
    assert cfg == _Cfg(n=5, rate=0.1, name="base", sizes=(2, 4), cap=9)
    assert config_from_strings(_Cfg, {"flag": "true"}) == _Cfg(flag=True)
    with pytest.raises(UsageError, match=r"unknown option 'colour' for _Cfg \(known: n, rate, name, flag, sizes, cap\)"):
        config_from_strings(_Cfg, {"colour": "red"})


def test_split_list_drops_blanks_and_spaces():
    assert split_list(" a, b,,c ,") == ("a", "b", "c")
    assert split_list("") == ()
