"""Model cards: what a model is (architecture, method, training protocol and budget, data
fingerprint, weights SHA-256 per seed, the commit that trained it) from the zoo's shipped JSON
beside its safetensors, and where its results come from (protocol, seeds, data fingerprint and
commit of every track's records). Facts are plain strings; the site escapes them."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..zoo.shipped import WEIGHTS_DIR
from .record import Record

Meta = Dict[str, Any]


def shipped_names(root: Path = WEIGHTS_DIR) -> List[str]:
    """Every shipped zoo model (a folder of ``seed<k>.json`` records)."""
    return sorted(p.name for p in Path(root).iterdir() if p.is_dir() and any(p.glob("seed*.json"))) \
        if Path(root).is_dir() else []


def weights_candidates(model_id: str, records: Sequence[Record]) -> List[str]:
    """Folder names the model's weights may ship under: its id, or the track-qualified name the
    causal encoders use (``causal.<variant>.<encoder>`` for ``<variant>/<encoder>``)."""
    out = [model_id]
    for track in sorted({r.track for r in records}):
        out.append(f"{track}.{model_id.replace('/', '.')}")
    return out


def shipped_meta(model_id: str, records: Sequence[Record] = (), root: Path = WEIGHTS_DIR) -> List[Meta]:
    """The shipped JSON records of every seed of the model (empty when it ships no weights)."""
    for name in weights_candidates(model_id, records):
        folder = Path(root) / name
        if folder.is_dir():
            metas = [json.loads(p.read_text()) for p in folder.glob("seed*.json")]
            return sorted(metas, key=lambda m: m.get("seed", 0))
    return []


def _optimiser(m: Meta) -> Optional[str]:
    t = m.get("train")
    if not t:
        return None
    opt = (m.get("hparams") or {}).get("optimizer", "sgd")
    parts = [f"{opt.upper() if opt == 'sgd' else opt.capitalize()} lr {t['lr']:g}"]
    if opt == "sgd":
        parts.append(f"momentum {t.get('momentum', 0):g}")
    parts += [f"batch {t['batch_size']}", f"weight decay {t.get('weight_decay', 0):g}"]
    return ", ".join(parts)


def _budget(m: Meta) -> Optional[str]:
    if "samples" in m:
        return (f"{m['samples']:,} samples, {m['steps']:,} steps, {m['epochs']} epochs of "
                f"{m['train'].get('epoch_samples', 60000):,}")
    cfg = m.get("config")
    if cfg and "epochs" in cfg:
        return f"{cfg['epochs']} epochs over {m.get('n_train', '?'):,} training scenes, batch {cfg.get('batch', '?')}"
    return None


def _data(m: Meta) -> Optional[str]:
    d = m.get("data")
    if isinstance(d, dict):
        c = d.get("config", {})
        return (f"{d.get('source', '?')}: {d.get('train_size', '?'):,} training images, ρ = {c.get('rho', '?')}, "
                f"colour on {c.get('color_location', '?')}; fingerprint {d.get('fingerprint', '?')}")
    return f"fingerprint {d}" if d else None


def _hparams(m: Meta) -> Optional[str]:
    h = {k: v for k, v in (m.get("hparams") or {}).items() if k != "optimizer"}
    if not h and "config" in m:
        h = {k: v for k, v in m["config"].items() if k not in ("epochs", "batch")}
    return ", ".join(f"{k} = {v}" for k, v in sorted(h.items())) or None


# label → fact from a shipped JSON record (None: not stated there, row left out)
SHIPPED_FACTS: Tuple[Tuple[str, Callable[[Meta], Optional[str]]], ...] = (
    ("architecture", lambda m: m.get("arch") or (f"{m['name'].rsplit('.', 1)[-1]} ({m['params']:,} parameters)"
                                                 if "params" in m else None)),
    ("method", lambda m: m.get("method")),
    ("zoo group", lambda m: m.get("group")),
    ("method hyper-parameters", _hparams),
    ("optimiser", _optimiser),
    ("training budget", _budget),
    ("training data", _data),
)


@dataclass
class Card:
    model_id: str
    facts: List[Tuple[str, str]] = field(default_factory=list)
    weights: List[List[str]] = field(default_factory=list)  # seed, SHA-256, trained at commit, training time
    provenance: List[List[str]] = field(default_factory=list)  # track, protocol, seeds, data, commits


WEIGHTS_COLUMNS = ["seed", "weights SHA-256", "trained at commit", "training time (s)"]
PROVENANCE_COLUMNS = ["track", "protocol", "profile", "seeds", "data fingerprint", "records made at commit", "on the board"]


def _train_time(m: Meta) -> str:
    t = m.get("train_time_s", m.get("train_s"))
    return f"{t:.0f}" if isinstance(t, (int, float)) else "–"


def model_card(model_id: str, records: Sequence[Record], root: Path = WEIGHTS_DIR,
               current: Callable[[Record], bool] = lambda r: True) -> Card:
    """``records``: this model's records (every track); ``current``: whether a record's protocol is
    the one its track's tables show (older ones are listed, marked superseded)."""
    card = Card(model_id)
    metas = shipped_meta(model_id, records, root)
    if metas:
        card.facts = [(label, v) for label, get in SHIPPED_FACTS if (v := get(metas[0]))]
        card.facts.append(("weights", f"zoo/weights/{metas[0]['name']}/seed<k>.safetensors (safetensors: tensors only)"))
        card.weights = [[str(m.get("seed", "?")), m.get("sha256", "–"),
                         (m.get("provenance") or {}).get("git_commit", "not recorded"), _train_time(m)] for m in metas]
    else:
        card.facts = [("weights", "not shipped: trained by the track run itself, or a submission (see its records)")]
    subs = {(s.get("kind", "?"), s.get("hash", "?")) for s in (r.config.get("submission") for r in records) if s}
    card.facts += [("submission", f"{kind}; hash {h}") for kind, h in sorted(subs)]
    by_track: Dict[Tuple[str, str, str], List[Record]] = {}
    for r in records:
        by_track.setdefault((r.track, r.protocol, r.profile), []).append(r)
    for (track, protocol, profile), recs in sorted(by_track.items()):
        card.provenance.append([track, protocol, profile, ", ".join(str(s) for s in sorted({r.seed for r in recs})),
                                ", ".join(sorted({r.data_fingerprint for r in recs})),
                                ", ".join(sorted({str(r.provenance.get("git_commit", "?")) for r in recs})),
                                "yes" if all(map(current, recs)) else "no (superseded protocol)"])
    return card
