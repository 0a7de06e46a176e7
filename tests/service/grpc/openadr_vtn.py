"""openleadr's own VTN on 127.0.0.1, recording what a VEN sends it (shared by the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import openleadr  # type: ignore[import-untyped]

__all__ = ["VEN_ID", "Vtn", "start_vtn"]

VEN_ID = "ven-spillway"


@dataclass
class Vtn:
    """openleadr's VTN on 127.0.0.1 with a record of what the VEN sent it."""

    server: Any
    url: str
    registrations: list[dict[str, Any]] = field(default_factory=list)
    opts: list[tuple[str, str, str]] = field(default_factory=list)
    report_resources: list[str] = field(default_factory=list)
    reports: list[tuple[str, float]] = field(default_factory=list)

    def add(
        self,
        signal_name: str,
        signal_type: str,
        payloads: list[float],
        *,
        start: datetime,
        interval_s: float,
        resource: str | None = None,
        event_id: str,
    ) -> None:
        intervals = [
            {
                "dtstart": start + timedelta(seconds=i * interval_s),
                "duration": timedelta(seconds=interval_s),
                "signal_payload": p,
            }
            for i, p in enumerate(payloads)
        ]
        target = {"resource_id": resource} if resource else {"ven_id": VEN_ID}
        self.server.add_event(
            ven_id=VEN_ID,
            signal_name=signal_name,
            signal_type=signal_type,
            intervals=intervals,
            target=target,
            callback=self.on_opt,
            event_id=event_id,
        )

    def on_opt(self, ven_id: str, event_id: str, opt_type: str) -> None:
        self.opts.append((ven_id, event_id, opt_type))


async def start_vtn(report_s: float = 1.0, port: int = 0) -> Vtn:
    server = openleadr.OpenADRServer(
        vtn_id="VTN-TEST",
        http_host="127.0.0.1",
        http_port=port,
        requested_poll_freq=timedelta(seconds=0.5),
        show_fingerprint=False,
    )
    vtn = Vtn(server, "")

    async def on_registration(info: dict[str, Any]) -> tuple[str, str]:
        vtn.registrations.append(info)
        return VEN_ID, "reg-1"

    def on_register_report(
        ven_id, resource_id, measurement, unit, scale, min_sampling_interval, max_sampling_interval
    ):
        vtn.report_resources.append(f"{resource_id}:{measurement}:{scale}{unit}")

        async def on_data(data: list[tuple[datetime, float]]) -> None:
            vtn.reports.extend((resource_id, v) for _, v in data)

        return on_data, timedelta(seconds=report_s)

    server.add_handler("on_create_party_registration", on_registration)
    server.add_handler("on_register_report", on_register_report)
    await server.run()
    bound = server.app_runner.addresses[0][1]
    vtn.url = f"http://127.0.0.1:{bound}/OpenADR2/Simple/2.0b"
    return vtn
