"""Submissions: a user's model as a directory (``submission.toml`` + code/weights or TorchScript),
validated before any run, evaluated on every track through ``Track.evaluate``."""
from .format import FIELDS, KINDS, Submission, load_verified, read_submission
from .validate import CHECKS, check_model, select_tracks, validate

__all__ = ["FIELDS", "CHECKS", "Submission", "read_submission", "load_verified", "KINDS", "check_model", "select_tracks",
           "validate"]
