"""``PushPrices`` messages <-> price points (``service.signals.domain.PricePoint``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from service.rpc.checks import MAX_SCHEDULE_ENTRIES, Checker
from service.rpc.convert import duration, timestamp
from service.signals.domain import PricePoint
from spillway.v1 import planner_pb2

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

__all__ = ["MAX_PRICE_INTERVAL_S", "prices_from_proto", "prices_to_proto"]

#: The longest one price interval may be (a week): a typo in duration_s must not hold
#: a price for years.
MAX_PRICE_INTERVAL_S = 7 * 86400.0


def prices_from_proto(
    request: planner_pb2.PushPricesRequest, known_sites: Collection[str]
) -> tuple[PricePoint, ...]:
    """Every point of ``request``, checked; all or none.

    Raises
    ------
    InvalidRequestError
        Naming ``prices[i].field`` for every bad field: no points or too many, not
        exactly one of site and bus, a site nobody knows, a bad name, a start or
        duration missing or out of range, a price not finite.
    """
    check = Checker()
    if not request.prices:
        check.add("prices", "at least one price is required")
    if len(request.prices) > MAX_SCHEDULE_ENTRIES:
        check.add("prices", f"at most {MAX_SCHEDULE_ENTRIES} per call, got {len(request.prices)}")
        check.raise_if_any()
    out = []
    for i, p in enumerate(request.prices):
        at = f"prices[{i}]"
        if bool(p.site) == bool(p.bus):
            check.add(f"{at}.site", "name exactly one of site and bus")
        elif p.site:
            check.name(f"{at}.site", p.site)
            if p.site not in known_sites:
                check.add(f"{at}.site", f"no site {p.site[:64]!r} is known (no plan or worker)")
        else:
            check.name(f"{at}.bus", p.bus)
        start_s = check.timestamp_s(f"{at}.start_time", p.start_time, p.HasField("start_time"))
        length_s = check.duration_s(
            f"{at}.duration", p.duration, p.HasField("duration"), maximum_s=MAX_PRICE_INTERVAL_S
        )
        if not math.isfinite(p.price_per_mwh):
            check.add(f"{at}.price_per_mwh", f"must be a finite number, got {p.price_per_mwh}")
        out.append(
            PricePoint(p.site or None, p.bus or None, start_s, start_s + length_s, p.price_per_mwh)
        )
    check.raise_if_any()
    return tuple(out)


def prices_to_proto(points: Sequence[PricePoint]) -> planner_pb2.PushPricesRequest:
    """A ``PushPricesRequest`` of ``points`` (a price for every site needs a name)."""
    return planner_pb2.PushPricesRequest(
        prices=[
            planner_pb2.PricePoint(
                site=p.site or "",
                bus=p.bus or "",
                start_time=timestamp(p.start_s),
                duration=duration(p.end_s - p.start_s),
                price_per_mwh=p.price_per_mwh,
            )
            for p in points
        ]
    )
