"""When AWS retires each Python runtime, and the warning (or error) for targets that still use one.

AWS deprecates a runtime (no more security patches), then blocks creating functions on it, then
blocks updating them: a function on such a runtime stops deploying. Packaging a target whose
runtime is past one of those dates, or within `NOTICE_DAYS` of it, says so once per runtime, with
the date, what AWS blocks then and the runtime to move to; `[lambda].retiring_runtimes = "error"`
fails the build instead, for CI.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Optional

from pants.engine.rules import collect_rules, rule
from pants.engine.target import InvalidFieldException

from pants_lambda.platforms import RUNTIMES
from pants_lambda.subsystems.lambda_subsystem import LambdaSubsystem

logger = logging.getLogger(__name__)

# AWS's "Lambda runtimes" page, "Supported runtimes" and "Deprecated runtimes", read on
# TABLE_CHECKED: (deprecation, block function create, block function update); None where the table
# names no date yet.
TABLE_CHECKED = datetime.date(2026, 12, 1)
TABLE_SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"
LIFECYCLE: dict[str, tuple[datetime.date, Optional[datetime.date], Optional[datetime.date]]] = {
    "python3.10": (
        datetime.date(2026, 10, 31),
        datetime.date(2026, 11, 30),
        datetime.date(2027, 1, 15),
    ),
    "python3.11": (datetime.date(2027, 6, 30), None, None),
    "python3.12": (datetime.date(2028, 10, 31), None, None),
    "python3.13": (datetime.date(2029, 6, 30), None, None),
    "python3.14": (datetime.date(2029, 6, 30), None, None),
}
NOTICE_DAYS = 90


def newest_runtime() -> str:
    return max(RUNTIMES, key=lambda r: RUNTIMES[r].python_version)


def lifecycle_notice(runtime: str, today: datetime.date) -> Optional[str]:
    """What AWS does to `runtime` on a date that is past or within `NOTICE_DAYS` of `today`."""
    deprecation, create, update = LIFECYCLE[runtime]
    horizon = today + datetime.timedelta(days=NOTICE_DAYS)
    events = [
        (deprecation, "is deprecated", "AWS no longer applies security patches to it"),
        (create, "blocks creating functions", "a new function on it fails to deploy"),
        (update, "blocks updating functions", "a changed function on it fails to deploy"),
    ]
    due = [(day, what, means) for day, what, means in events if day is not None and day <= horizon]
    if not due:
        return None
    parts = []
    for day, what, means in due:
        when = "since" if day <= today else "from"
        subject = runtime if what.startswith("is") else "AWS"
        parts.append(f"{subject} {what} {when} {day.isoformat()} ({means})")
    newest = newest_runtime()
    return (
        f"The Lambda runtime {runtime} is being retired: {'; '.join(parts)}. Move its targets to "
        f'{newest}, the newest Python runtime (`runtime="{newest}"`). (AWS\'s runtime table as '
        f"of {TABLE_CHECKED.isoformat()}: {TABLE_SOURCE}.)"
    )


def short_notice(runtime: str, today: datetime.date) -> Optional[str]:
    """The one date that matters most, for the line `package` prints under each artifact."""
    deprecation, create, update = LIFECYCLE[runtime]
    if lifecycle_notice(runtime, today) is None:
        return None
    for day, what in ((update, "updating"), (create, "creating")):
        if day is not None and day <= today:
            return f"AWS blocks {what} functions on it since {day.isoformat()}"
    return f"deprecated {'since' if deprecation <= today else 'from'} {deprecation.isoformat()}"


@dataclass(frozen=True)
class RuntimeLifecycleRequest:
    runtime: str


@dataclass(frozen=True)
class RuntimeLifecycle:
    notice: Optional[str]  # Set when the runtime is being retired.
    short: Optional[str]
    fail: bool  # `[lambda].retiring_runtimes = "error"`.

    def check(self, uses: str) -> None:
        """Fails the build if the runtime is being retired and the option says to; `uses` says
        which target uses the runtime, and through which field."""
        if self.notice and self.fail:
            raise InvalidFieldException(
                f"{uses}. {self.notice} (`[lambda].retiring_runtimes = \"error\"`)"
            )


@rule(desc="Check a Lambda runtime's retirement dates")
async def check_runtime_lifecycle(
    request: RuntimeLifecycleRequest, subsystem: LambdaSubsystem
) -> RuntimeLifecycle:
    # Asked once per runtime and run, so the warning is printed once, whatever uses the runtime.
    if subsystem.retiring_runtimes not in ("warn", "error"):
        raise ValueError(
            f"The option `[{subsystem.options_scope}].retiring_runtimes` is "
            f"{subsystem.retiring_runtimes!r}; set it to \"warn\" or \"error\"."
        )
    today = datetime.date.today()
    notice = lifecycle_notice(request.runtime, today)
    fail = subsystem.retiring_runtimes == "error"
    if notice and not fail:
        logger.warning(
            f"{notice} Set `[{subsystem.options_scope}].retiring_runtimes = \"error\"` to fail "
            "the build instead."
        )
    return RuntimeLifecycle(notice, short_notice(request.runtime, today), fail)


def rules():
    return collect_rules()
