"""`autoda report`: one self-contained HTML page (PNG figures inlined) for a search run or
an experiment."""
from .build import ReportError, build_report

__all__ = ["ReportError", "build_report"]
