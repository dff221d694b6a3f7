"""``manage.py redis_doctor [--json]``: is the configured Redis safe for sessions?"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from redis_sessions.doctor import diagnose


class Command(BaseCommand):
    help = (
        "Check the Redis server the app uses: version, persistence, eviction policy, "
        "memory, latency, loop heartbeats, keys. Exits 1 when it is unsafe for sessions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument(
            "--sample", type=int, default=10_000, help="most keys SCAN looks at (10000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = diagnose(sample=options["sample"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            self.stdout.write(report.as_text())
        if report.unsafe:
            failed = ", ".join(f.check for f in report.findings if f.verdict == "FAIL")
            raise CommandError(f"Redis is unsafe for sessions: {failed}", returncode=1)
