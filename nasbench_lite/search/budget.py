"""A run's budget: simulated seconds, evaluations or training epochs, parsed from the CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nasbench_lite.errors import InputError

_EVALS = re.compile(r"([+-]?\d+)\s*evals?")

_EPOCHS = re.compile(r"([+-]?\d+)\s*epochs?")

# Upper bounds: a budget past them is a typo, not an experiment (a run keeps one row per
# evaluation in memory; 1e12 simulated seconds are 30,000 years).
MAX_SECONDS, MAX_EVALS, MAX_EPOCHS = 1e12, 10_000_000, 1_000_000_000


@dataclass(frozen=True)
class Budget:
    """Simulated seconds, a number of evaluations, a number of training epochs, or several
    (the run ends at the first spent).

    An evaluation counts against `evals` whatever its fidelity; against `epochs` it counts
    the epochs it trains (a continuation only those it adds). An evaluation that would take
    the epochs past the budget is not started, and the run ends there.
    """

    seconds: float | None = None
    evals: int | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.evals is None and self.epochs is None:
            raise InputError("a budget needs seconds, evals or epochs")
        if self.seconds is not None and not (0 < self.seconds <= MAX_SECONDS):
            raise InputError(
                f"budget seconds must be > 0 and at most {MAX_SECONDS:g}, got {self.seconds!r}"
            )
        for name, most in (("evals", MAX_EVALS), ("epochs", MAX_EPOCHS)):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most
            ):
                raise InputError(f"budget {name} must be an int in 1..{most:,}, got {value!r}")

    @classmethod
    def parse(cls, text: str | float | Budget) -> Budget:
        """Text to budget: '3000' (or 3000, '3000s', '1.5e3') is 3000 simulated seconds,
        '100evals' (or '100 evals') is 100 evaluations, '2000epochs' is 2,000 training epochs;
        a Budget is returned unchanged."""
        if isinstance(text, Budget):
            return text
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise InputError(
                f"budget {text!r}: expected seconds (e.g. '3000'), 'Nevals' or 'Nepochs'"
            )
        stripped = str(text).strip().lower()
        try:
            if match := _EVALS.fullmatch(stripped):
                return cls(evals=int(match[1]))
            if match := _EPOCHS.fullmatch(stripped):
                return cls(epochs=int(match[1]))
            return cls(seconds=float(stripped.removesuffix("s")))
        except ValueError as err:
            raise InputError(
                f"budget {text!r} is not valid: expected simulated seconds (e.g. '3000'), a "
                f"number of evaluations (e.g. '100evals') or of training epochs (e.g. "
                f"'2000epochs'), all positive ({err})"
            ) from None

    def __str__(self) -> str:
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g}")
        if self.evals is not None:
            parts.append(f"{self.evals}evals")
        if self.epochs is not None:
            parts.append(f"{self.epochs}epochs")
        return " and ".join(parts)
