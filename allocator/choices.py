"""Every choice a user makes by name, defined once: the CLI lists them in ``--help``, the model
file and the library validate against them.

>>> Rounding("webster") is Rounding.WEBSTER, [s.value for s in Solver]
(True, ['highs', 'cbc'])
>>> OutputFormat.tables()
('csv', 'xlsx', 'docx', 'md', 'tex', 'html')
"""

from __future__ import annotations

from enum import StrEnum


class Solver(StrEnum):
    """LP solver: HiGHS in-process (default) or CBC."""

    HIGHS = "highs"
    CBC = "cbc"


class Rounding(StrEnum):
    """Rounding of the fair continuous allocation to whole posts."""

    HAMILTON = "hamilton"
    WEBSTER = "webster"
    DHONDT = "dhondt"
    HUNTINGTON_HILL = "huntington-hill"


class Transform(StrEnum):
    """Damping applied to an indicator before its shares are taken."""

    LINEAR = "linear"
    SQRT = "sqrt"
    LOG = "log"


class Language(StrEnum):
    """Language of documents, headers and charts."""

    ZH = "zh"
    EN = "en"


class StudyMethod(StrEnum):
    """Sensitivity study: one weight swept, one at a time, or Monte Carlo on the simplex."""

    SWEEP = "sweep"
    OAT = "oat"
    MONTECARLO = "montecarlo"


class WeightingMethod(StrEnum):
    """How weights are derived: equal, from the data (entropy, CRITIC) or from an AHP matrix."""

    EQUAL = "equal"
    ENTROPY = "entropy"
    CRITIC = "critic"
    AHP = "ahp"


class Recruitment(StrEnum):
    """Yearly recruitment budget of a transition plan: the year's departures, or no limit (or a
    whole number of posts, given as a number)."""

    DEPARTURES = "departures"
    UNLIMITED = "unlimited"


class OutputFormat(StrEnum):
    """A file format of a report: six table formats and two chart formats."""

    CSV = "csv"
    XLSX = "xlsx"
    DOCX = "docx"
    MD = "md"
    TEX = "tex"
    HTML = "html"
    PNG = "png"
    SVG = "svg"

    @classmethod
    def tables(cls) -> tuple[str, ...]:
        """The table formats, in the order they are written."""
        return tuple(f.value for f in cls if f not in (cls.PNG, cls.SVG))

    @classmethod
    def charts(cls) -> tuple[str, ...]:
        """The chart formats."""
        return (cls.PNG.value, cls.SVG.value)


def names(choice: type[StrEnum]) -> tuple[str, ...]:
    """The values of a choice, in order: ``names(Solver) == ('highs', 'cbc')``."""
    return tuple(member.value for member in choice)
