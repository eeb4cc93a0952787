"""Errors and per-row reports for bad input."""

from __future__ import annotations

from dataclasses import dataclass, field


class DataError(ValueError):
    """Input data is malformed. The message names the file, the row and the offending value."""


class UnknownIdError(KeyError):
    """An external id is not known to the fitted data."""

    def __init__(self, kind: str, ids, hint: str = ""):
        ids = list(ids)
        shown = ", ".join(repr(i) for i in ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        msg = f"unknown {kind} id(s): {shown}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)
        self.kind = kind
        self.ids = ids

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


@dataclass
class ValidationReport:
    """Rows that were skipped or merged while loading, with the reason for each."""

    skipped: list[dict] = field(default_factory=list)
    merged: int = 0
    #: how ambiguous values were read (e.g. millisecond timestamps, month-first dates)
    notes: list[str] = field(default_factory=list)

    def skip(self, source: str, row: int | None, reason: str, value=None) -> None:
        self.skipped.append({"source": str(source), "row": row, "reason": reason, "value": value})

    def __bool__(self) -> bool:
        return bool(self.skipped) or self.merged > 0 or bool(self.notes)

    def summary(self) -> str:
        if not self:
            return "no rows skipped or merged"
        parts = []
        if self.skipped:
            first = self.skipped[0]
            where = f"{first['source']}" + (f" line {first['row']}" if first["row"] is not None else "")
            parts.append(f"{len(self.skipped)} row(s) skipped (first: {where}: {first['reason']})")
        if self.merged:
            parts.append(f"{self.merged} duplicate row(s) merged")
        return "; ".join(parts + self.notes)
