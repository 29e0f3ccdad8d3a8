"""What a person sees of runs and experiments, in the terminal and on a page.

- text: rich tables as plain text, accuracies as percentages;
- progress: progress bars on stderr for training and for a search;
- tables: accuracy tables by class group (`autoda train`, an experiment's table);
- leaderboard: a search run's leaderboard and the list of runs (`autoda runs`);
- export: the leaderboard as CSV (`autoda runs export`);
- scalars: TensorBoard scalars of a training or a search (`--tensorboard DIR`);
- build: `autoda report`, one self-contained HTML page (PNG figures inlined) for a search
  run or an experiment, from plots (matplotlib), usage (op use over training) and preview
  (augmented samples, also `autoda preview`).

It reads what the search and experiments write; nothing below it imports it.
"""
__all__ = ["ReportError", "build_report"]


def __getattr__(name: str):
    # The page needs matplotlib (a second to import); the terminal's tables and bars do not.
    if name in __all__:
        from . import build
        return getattr(build, name)
    raise AttributeError(f"module 'autoda.report' has no attribute {name!r}")
