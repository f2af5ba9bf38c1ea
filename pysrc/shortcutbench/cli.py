"""``shortcutbench`` command line. Bad input exits 2 with one line naming the problem."""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Dict, Optional, Sequence

from .errors import UsageError

DEFAULT_OUT = "leaderboard"  # the committed board: written only when someone names it (or rebuilds it)
RESULTS_OUT = "results"  # where `run` and `submit` put a user's records by default (ignored by git)
MARK = "yours"  # label of --include records beside the committed board's


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (no usage dump)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def _add_common_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=["quick", "full"], default="quick",
                   help="quick: minutes, 1 seed (make run); full: the protocol of the committed tables")
    p.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="number of training seeds (default: the profile's; seeds are 0..N-1)")
    p.add_argument("--seed-from", type=int, default=0, metavar="K",
                   help="start at seed K (seeds K..N-1): add seeds to records already made without redoing 0..K-1")
    p.add_argument("--mnist-dir", default=None, metavar="DIR",
                   help="directory with the four MNIST IDX files (raw or .gz); default: the 5,000 embedded digits")
    p.add_argument("--cifar-dir", default=None, metavar="DIR",
                   help="directory with the CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin); tracks that "
                        "read CIFAR-10 (invariance, ssl) use it instead of their digits; never downloaded")
    p.add_argument("--out", default=RESULTS_OUT, metavar="DIR",
                   help=f"where records.sqlite, records/, tables and figures go (default: {RESULTS_OUT}/, ignored by "
                        f"git; `--out {DEFAULT_OUT}` writes the committed board on purpose); the attack track logs finished "
                        f"cells in DIR/.partial/, so the same command resumes a killed run")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="track-specific protocol override (see the track's docs; TRACK.KEY=VALUE for one track only); recorded in every record")


def build_parser() -> argparse.ArgumentParser:
    from .tracks import TRACKS
    from .data import DATASETS
    from .utils.device import add_device_arg

    p = _Parser(prog="shortcutbench", description=__doc__.split("\n")[0] +
                "\nTracks: " + ", ".join(TRACKS.list()) + ". Tables are rebuilt from stored records.",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    sub.add_parser("doctor", help="report the build: compiled backend per op, compiler, OpenMP threads, CUDA",
                   description="Report how shortcutbench was built and which backend each op uses.")

    data = sub.add_parser("data", help="inspect datasets", description="Inspect datasets.")
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser, metavar="ACTION")
    show = dsub.add_parser("show", help="print a summary and write a PNG grid of samples",
                           description="Print a summary of a dataset and write a PNG grid of samples. "
                                       "Datasets: " + ", ".join(DATASETS.list()) + ".")
    show.add_argument("dataset", help="one of: " + ", ".join(DATASETS.list()))
    show.add_argument("--mnist-dir", default=None, metavar="DIR", help="local MNIST IDX directory (default: embedded)")
    show.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="dataset option, e.g. rho=0.9, n_confusing_colors=3, color_jitter=0.05, "
                           "color_location=background, data_seed=1 (repeatable)")
    show.add_argument("--out", default=str(Path(RESULTS_OUT) / "figures" / "data"), metavar="DIR",
                      help="directory for <dataset>_samples.png")

    run = sub.add_parser("run", help="run a track (or 'all') and rebuild its tables",
                         description="Run a track under a frozen protocol preset, store one record per "
                                     "(model, seed) and rebuild the track's tables. Tracks: "
                                     + ", ".join(TRACKS.list()) + ", or 'all'.")
    run.add_argument("track", help="track name or 'all'")
    _add_common_run_args(run)
    _add_distributed_arg(run)
    add_device_arg(run)

    from .explain.command import add_parser as add_explain

    add_explain(sub)
    from .zoo.command import add_parser as add_zoo

    add_zoo(sub)
    from .ssl.command import add_parser as add_ssl

    add_ssl(sub)

    lb = sub.add_parser("leaderboard", help="rebuild tables and figures from stored records",
                        description="Rebuild leaderboard tables and figures from the records in DIR/records.sqlite.")
    lb.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"leaderboard directory (default: {DEFAULT_OUT}/)")
    lb.add_argument("--track", default=None,
                    help="only this track's tables (with --html every track is rendered: the site shows them all)")
    lb.add_argument("--html", action="store_true", help="also write the static site DIR/site/ (no network needed)")
    lb.add_argument("--include", default=None, metavar="RESULTS",
                    help=f"also show the records in RESULTS (e.g. {RESULTS_OUT}/, where `run` writes), each model marked "
                         f"'({MARK})', beside the board's: tables, figures (and with --html the site) go to "
                         f"RESULTS/board/; DIR is only read")
    lb.add_argument("--screenshot", default=None, metavar="PNG",
                    help="with --html: a 1280×900 screenshot of the site's index in headless Chromium (for the README)")
    _add_trust_code_arg(lb)
    _add_submit_parser(sub)
    return p


def _add_distributed_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--distributed", action="store_true",
                   help="under torchrun: shard each evaluation set over the processes (gloo on CPU, NCCL on GPU); "
                        "rank 0 stores the records, which equal a single process's")


def _add_trust_code_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trust-code", action="store_true",
                   help="rank code submissions together with verified ones in overall.md (default: a separate, marked list)")


def _add_submit_parser(sub) -> None:
    s = sub.add_parser("submit", help="validate a submission directory and run every chosen track on it",
                       description="Validate DIR (submission.toml + model) and run the frozen protocol preset of "
                                   "each chosen track on it, one subprocess per track, resumable. Submitted code "
                                   "runs only in a sandboxed process (see `shortcutbench doctor`). With "
                                   "--export-zoo, write a zoo model as a submission directory DIR instead.")
    s.add_argument("dir", metavar="DIR", help="submission directory (see shortcutbench/submissions/template/)")
    s.add_argument("--tracks", nargs="+", default=None, metavar="TRACK",
                   help="tracks to run (default: the toml's `tracks`; 'all' = every track accepting submissions)")
    s.add_argument("--profile", choices=["quick", "full"], default="full",
                   help="protocol preset to evaluate under (default: full, the committed tables' protocol)")
    s.add_argument("--mnist-dir", default=None, metavar="DIR", help="local MNIST IDX directory (default: embedded)")
    s.add_argument("--out", default=RESULTS_OUT, metavar="DIR",
                   help=f"results directory (default: {RESULTS_OUT}/; `--out {DEFAULT_OUT}` adds to the committed board)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="track protocol override (TRACK.KEY=VALUE for one track only)")
    s.add_argument("--time-limit", type=float, default=3600.0, metavar="S", help="per-track limit in seconds (default 3600)")
    s.add_argument("--memory-limit", type=float, default=8.0, metavar="GB",
                   help="address-space limit of the process running submitted code (default 8)")
    s.add_argument("--no-export", action="store_true",
                   help="score a code submission as code (in the sandbox) without trying torch.export first")
    s.add_argument("--validate-only", action="store_true", help="run the checks, print them, evaluate nothing")
    _add_trust_code_arg(s)
    s.add_argument("--export-zoo", default=None, metavar="MODEL",
                   help="write the shipped zoo model MODEL (e.g. lazy_cnn.erm; see: shortcutbench zoo list) as a submission into DIR")
    s.add_argument("--seed", type=int, default=0, help="training seed of the zoo model for --export-zoo (default 0)")
    _add_distributed_arg(s)


def cmd_doctor(args) -> int:
    import torch

    from . import __version__, _ext, ops
    from .zoo import cache_dir

    info = _ext.build_info()
    print(f"shortcutbench {__version__}  torch {torch.__version__}  python {sys.version.split()[0]}")
    print(f"compiled core (shortcutbench._C): {'yes' if info.get('compiled') == 'yes' else 'no'}")
    isa_keys = ("isa", "isa_supported", "isa_note")
    if "isa" in info:  # the per-ISA kernel copies: which one runs, and why when it is not the best
        note = f"; {info['isa_note']}" if info.get("isa_note") else ""
        print(f"  ISA path: {info['isa']} (this CPU runs: {info['isa_supported']}; SHORTCUTBENCH_ISA overrides{note})")
    for k in sorted(info):
        if k != "compiled" and k not in isa_keys:
            print(f"  {k}: {info[k]}")
    print(f"torch threads: {torch.get_num_threads()}  cuda available: {torch.cuda.is_available()}")
    print("ops:")
    for op, backend in ops.backends().items():
        print(f"  {op}: {backend}")
    print(f"zoo cache: {cache_dir()}")
    from .submissions.sandbox import isolation

    iso = isolation()
    print(f"submission sandbox: {iso.level} ({iso.detail})")
    return 0


def cmd_data_show(args) -> int:
    from .data import DATASETS
    from .utils.atomic import ensure_writable_dir
    from .utils.config import parse_assignments

    builder = DATASETS.get(args.dataset)
    out = ensure_writable_dir(args.out)
    view = builder(parse_assignments(args.set), args.mnist_dir)
    print(view.summary())
    path = out / f"{args.dataset}_samples.png"
    view.save_grid(path)
    print(f"samples: {path}")
    return 0


def _render(track_names: Optional[Sequence[str]], out: Path, records: Optional[Sequence] = None) -> Dict[str, list]:
    """Each named track's tables and figures (None: every track's) into ``out``, from ``records``
    (default: out's store); returns the rendered tables by track, for the site."""
    from .results import Store, write_tables
    from .results.site import track_tables

    if records is None:
        records = Store.in_dir(out).query()
    tables = track_tables(out, records, track_names)
    for rendered in tables.values():
        for path in write_tables(rendered, out):
            print(f"wrote {path}")
    return tables


def cmd_run(args) -> int:
    from .results import Store
    from .tracks import TRACKS, RunContext
    from .utils.atomic import ensure_writable_dir

    names = TRACKS.list() if args.track == "all" else [args.track]
    tracks = [TRACKS.get(n)() for n in names]  # unknown track: one line, exit 2, before any work
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if args.seed_from < 0 or (args.seeds is not None and args.seed_from >= args.seeds):
        last = "N-1" if args.seeds is None else args.seeds - 1
        raise UsageError(f"--seed-from must be in 0..{last}, got {args.seed_from}")
    if args.mnist_dir is not None:
        from .data import read_idx_dir

        read_idx_dir(args.mnist_dir)  # validate before any training
    from .utils.config import parse_assignments

    options = parse_assignments(args.set)  # bad input: one line before anything is created
    if args.cifar_dir is not None:  # same as --set cifar_dir=DIR, validated before any training
        from .data.cifar import load_cifar10

        load_cifar10(args.cifar_dir)
        options["cifar_dir"] = args.cifar_dir
    ctx = RunContext(profile=args.profile, seeds=args.seeds, seed_from=args.seed_from, mnist_dir=args.mnist_dir,
                     out_dir=Path(args.out), options=options, device=args.device)
    per_track = _plan_options(tracks, ctx)  # every key of every track checked before any track starts
    out = ensure_writable_dir(args.out)
    store = Store.in_dir(out)
    main_rank = _join_distributed(args)
    for track in tracks:
        t0 = time.perf_counter()
        n = 0
        for record in track.run(replace(ctx, out_dir=out, options=per_track[track.name])):
            if main_rank:
                store.put([record])  # each record lands atomically as soon as it exists
            n += 1
        if not main_rank:
            continue
        _render([track.name], out)
        print(f"{track.name}: {n} records in {time.perf_counter() - t0:.0f} s")
    return 0


def _plan_options(tracks, ctx) -> dict:
    """Each track's options (see :func:`shortcutbench.tracks.options.plan`); with several tracks,
    says which tracks each plain key applies to."""
    from .tracks.options import plan

    per_track, applies = plan(tracks, ctx)
    if len(tracks) > 1:
        for key, names in applies.items():
            print(f"--set {key}={ctx.options[key]} applies to: {', '.join(names)}")
    return per_track


def _join_distributed(args) -> bool:
    """With --distributed, join torchrun's process group; True on the process that writes."""
    if not getattr(args, "distributed", False):
        return True
    from .utils import distributed

    distributed.init_from_env()
    return distributed.is_main()


def _require_records(d: Path) -> None:
    if not (d / "records.sqlite").is_file() and not any((d / "records").glob("*.jsonl")):
        raise UsageError(f"no records in {str(d)!r} (neither records.sqlite nor records/*.jsonl); run a track first")


def cmd_leaderboard(args) -> int:
    from .results import Store
    from .tracks import TRACKS

    out = Path(args.out)
    _require_records(out)
    if args.screenshot and not (args.html and args.screenshot.endswith(".png")):
        raise UsageError(f"--screenshot {args.screenshot!r} needs --html and a .png path")
    if args.include is not None:
        if Path(args.include).resolve() == out.resolve():
            raise UsageError(f"--include {args.include!r} is the board itself (--out); name the results directory")
        _require_records(Path(args.include))
    records = Store.in_dir(out).query()
    board = list(records)  # the committed records alone (run times describe them, not a user's runs)
    view = out
    if args.include is not None:  # the board plus the user's rows, written beside the user's records
        from .results.include import marked
        from .utils.atomic import ensure_writable_dir

        records += marked(Store.in_dir(args.include).query(), records, MARK)
        view = ensure_writable_dir(Path(args.include) / "board")
    track = TRACKS.get(args.track).name if args.track else None  # unknown track: one line, exit 2
    # the site shows every track, so --html renders them all (once) and --track narrows plain runs only
    tables = _render(None if args.html or track is None else [track], view, records)
    _render_overall(view, trust_code=args.trust_code, records=records, site_tables=tables if args.html else None)
    _render_findings(view, records, readme=args.include is None)  # the README quotes the board's only
    _render_runtimes(view, board)
    if args.screenshot:
        from .results.browser import screenshot_page
        from .results.site import SITE_DIR

        print(f"wrote {screenshot_page(view / SITE_DIR / 'index.html', args.screenshot)}")
    return 0


def cmd_explain(args) -> int:
    from .explain.command import run

    return run(args)


def _render_overall(out: Path, trust_code: bool = False, records: Optional[Sequence] = None,
                    site_tables: Optional[Dict[str, list]] = None) -> None:
    """overall.md into ``out``; with ``site_tables`` (every track's rendered tables) also the site."""
    from .results import Store
    from .results.overall import overall_table
    from .results.tables import write_tables

    if records is None:
        records = Store.in_dir(out).query()
    overall = overall_table(records, trust_code)
    for path in write_tables([overall], out):
        print(f"wrote {path}")
    if site_tables is not None:
        from .results.site import build_site

        print(f"wrote {build_site(out, records, overall, site_tables)}")


def _render_findings(out: Path, records, readme: bool = True) -> None:
    """leaderboard/findings.md from every track's current records; the README beside the
    leaderboard directory quotes it between its findings markers (if it has them)."""
    from .results.findings import fill_readme
    from .results.findings_claims import findings_table
    from .results.tables import write_tables

    table = findings_table(records)
    for path in write_tables([table], out):
        print(f"wrote {path}")
    readme_path = out.resolve().parent / "README.md"
    if readme and fill_readme(readme_path, table):
        print(f"updated the findings section of {readme_path}")


def _render_runtimes(out: Path, records) -> None:
    """leaderboard/runtimes.md: each track's stored wall times (what `make full` costs, per track)."""
    from .results.runtimes import runtime_table
    from .results.tables import write_tables

    for path in write_tables([runtime_table(records)], out):
        print(f"wrote {path}")


def cmd_submit(args) -> int:
    import shutil
    import tempfile

    from .submissions import validate
    from .submissions.sandbox import Limits
    from .submissions.validate import CHECKS
    from .utils.config import parse_assignments

    if args.export_zoo:
        from .submissions.export import export_zoo

        print(f"wrote {export_zoo(args.export_zoo, args.seed, args.dir, mnist_dir=args.mnist_dir)}")
        return 0
    if args.time_limit <= 0:
        raise UsageError(f"--time-limit must be > 0, got {args.time_limit:g}")
    if args.memory_limit <= 0:
        raise UsageError(f"--memory-limit must be > 0, got {args.memory_limit:g}")
    options = parse_assignments(args.set)
    if args.mnist_dir is not None:
        from .data import read_idx_dir

        read_idx_dir(args.mnist_dir)
    limits = Limits(time_s=args.time_limit, memory_bytes=int(args.memory_limit * (1 << 30)))
    workdir = Path(tempfile.mkdtemp(prefix="sb-submit-"))  # the exported graph, for this command only
    try:
        v = validate(args.dir, args.tracks or (), limits, export=not args.no_export, workdir=workdir)
        how = f"kind: {v.kind}" + (f" (not exported: {v.export_failure})" if v.export_failure else "")
        print(f"{v.sub.model_id} (hash {v.sub.hash}): passed {len(CHECKS)} checks ({', '.join(CHECKS)}); "
              f"{how}; tracks: {', '.join(v.tracks)}")
        if args.validate_only:
            return 0
        return _run_submission(args, v, options, limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_submission(args, v, options, limits) -> int:
    from .submissions.runner import run_submission
    from .tracks import TRACKS, RunContext
    from .utils.atomic import ensure_writable_dir

    ctx = RunContext(profile=args.profile, mnist_dir=args.mnist_dir, out_dir=Path(args.out), options=options)
    _plan_options([TRACKS.get(name)() for name in v.tracks], ctx)  # every track's options, before anything is written
    ensure_writable_dir(args.out)
    if args.distributed:  # torchrun is the process boundary here: evaluate in this process, rank 0 stores
        from .submissions.runner import run_submission_distributed

        if not run_submission_distributed(v, ctx, _join_distributed(args), limits):
            return 0
        failed = []
    else:
        failed = run_submission(v, ctx, limits)
    _render(v.tracks, ctx.out_dir)
    _render_overall(ctx.out_dir, trust_code=args.trust_code)
    if failed:
        print(f"shortcutbench: {len(failed)} track(s) failed: {', '.join(failed)}; re-run to retry them", file=sys.stderr)
        return 1
    return 0


def cmd_zoo(args) -> int:
    from .zoo.command import cmd_zoo as run

    return run(args)


def cmd_ssl(args) -> int:
    from .ssl.command import cmd_ssl as run

    return run(args)


COMMANDS = {"doctor": cmd_doctor, "run": cmd_run, "leaderboard": cmd_leaderboard, "explain": cmd_explain,
            "submit": cmd_submit, "zoo": cmd_zoo, "ssl": cmd_ssl}


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "device", None) is not None:  # before any work: a missing GPU is a usage error
            from .utils.device import use_device

            use_device(args.device)
        if args.command == "data":
            return cmd_data_show(args)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"shortcutbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shortcutbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `shortcutbench doctor | head`: the reader left, not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
