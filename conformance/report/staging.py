"""Reports are published together or not at all.

pytest-html, pytest's JUnit writer and the suite each write their file at the end of a run. They all write
into a staging folder inside the report directory; when the run has produced its verdict, every file is
moved into place with os.replace (atomic on one file system). A run that stops early (a usage error, an
interrupt, `--collect-only`) publishes nothing, so the report directory never holds a fresh file beside
a stale one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

STAGING_PREFIX = ".staging-"
REPORT_FILES = ("conformance.html", "conformance.json", "conformance.md", "junit.xml")


class ReportDirError(OSError):
    """The report directory cannot be created or written."""


class ReportStaging:
    def __init__(self, report_dir: Path) -> None:
        self.report_dir = Path(report_dir)
        self.dir = self.report_dir / f"{STAGING_PREFIX}{os.getpid()}"

    def prepare(self) -> "ReportStaging":
        """Create the folders now, so that an unwritable --report-dir is found before any test runs."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            probe = self.dir / ".write-test"
            probe.write_text("", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            self.discard()
            reason = exc.strerror or str(exc)
            raise ReportDirError(f"--report-dir {self.report_dir}: cannot write there ({reason}); "
                                 "choose a directory this user can write") from None
        return self

    def path(self, name: str) -> Path:
        return self.dir / name

    def publish(self) -> list[Path]:
        """Move every staged report into the report directory; returns the published paths."""
        published = []
        for staged in sorted(self.dir.glob("*")):
            target = self.report_dir / staged.name
            os.replace(staged, target)
            published.append(target)
        self.discard()
        return published

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
