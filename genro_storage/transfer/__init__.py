"""Copy and move files and folders between any two mounts.

:class:`TransferOptions` says how (skip rule, filters, workers, error policy, dry run,
progress), :func:`transfer` runs it (``node.copy_to`` and ``node.move_to`` call it), and
a :class:`TransferReport` says what happened; front ends only format the report.
"""

from .engine import copy_file, same_file, transfer
from .options import ON_ERROR, SKIP_STRATEGIES, SkipRule, TransferOptions
from .report import PROGRESS_INTERVAL, TransferProgress, TransferReport

__all__ = [
    "transfer",
    "copy_file",
    "same_file",
    "TransferOptions",
    "TransferProgress",
    "TransferReport",
    "SKIP_STRATEGIES",
    "ON_ERROR",
    "SkipRule",
    "PROGRESS_INTERVAL",
]
