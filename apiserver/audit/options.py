"""kube-apiserver's audit flags, and the settings they make.

``--audit-log-path`` turns the log on (``-``: stdout); ``--audit-policy-file`` says what is
recorded (default :data:`~apiserver.audit.policy.DEFAULT_POLICY`: mutations and denials at
Metadata, reads not at all); ``--audit-log-maxsize`` (MB, 0: never rotate),
``--audit-log-maxbackup`` (0: keep every rotated file) and ``--audit-log-maxage`` (days, 0: no
limit) bound the disk it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apiserver.audit.logfile import LogFile
from apiserver.audit.middleware import AuditSettings
from apiserver.audit.policy import DEFAULT_POLICY, PolicyError, load_policy

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class AuditOptions:
    log_path: str = ""  # "": no audit log
    policy_file: Path | None = None
    max_size_mb: int = 0
    max_backups: int = 0
    max_age_days: int = 0

    def build(self) -> AuditSettings | None:
        """The settings, or None without a log path; raises PolicyError naming what is wrong."""
        if not self.log_path:
            if self.policy_file is not None:
                raise PolicyError("--audit-policy-file needs --audit-log-path: there is nowhere to write events")
            return None
        for flag, value in (("--audit-log-maxsize", self.max_size_mb), ("--audit-log-maxbackup", self.max_backups),
                            ("--audit-log-maxage", self.max_age_days)):
            if value < 0:
                raise PolicyError(f"{flag} must not be negative, not {value}")
        policy = load_policy(self.policy_file) if self.policy_file is not None else DEFAULT_POLICY
        try:
            sink = LogFile(self.log_path, max_size=self.max_size_mb * MEGABYTE, max_backups=self.max_backups,
                           max_age_days=self.max_age_days)
        except OSError as err:
            raise PolicyError(f"cannot open the audit log {self.log_path}: {err.strerror}") from None
        return AuditSettings(sink=sink, policy=policy)
