"""PyPSA facts the reader needs: standard line types and what Spillway does not model."""

from __future__ import annotations

__all__ = ["STANDARD_LINE_TYPES", "UNSUPPORTED_FLAGS", "UNSUPPORTED_NONZERO", "UNSUPPORTED_SERIES"]

#: PyPSA's standard overhead-line types used by transmission networks:
#: name -> series reactance per km per circuit (ohm/km). Values from PyPSA's
#: ``standard_types/line_types.csv`` (pandapower; Oeding and Oswald 2011).
STANDARD_LINE_TYPES: dict[str, float] = {
    "Al/St 240/40 2-bundle 220.0": 0.301,
    "Al/St 240/40 4-bundle 380.0": 0.246,
    "490-AL1/64-ST1A 220.0": 0.285,
    "490-AL1/64-ST1A 380.0": 0.253,
    "305-AL1/39-ST1A 110.0": 0.38,
    "243-AL1/39-ST1A 110.0": 0.39,
    "243-AL1/39-ST1A 20.0": 0.32,
    "184-AL1/30-ST1A 110.0": 0.4,
    "184-AL1/30-ST1A 20.0": 0.33,
    "149-AL1/24-ST1A 110.0": 0.41,
    "149-AL1/24-ST1A 20.0": 0.337,
    "149-AL1/24-ST1A 10.0": 0.315,
    "94-AL1/15-ST1A 20.0": 0.35,
    "94-AL1/15-ST1A 10.0": 0.33,
    "94-AL1/15-ST1A 0.4": 0.29,
    "48-AL1/8-ST1A 20.0": 0.372,
    "48-AL1/8-ST1A 10.0": 0.35,
    "48-AL1/8-ST1A 0.4": 0.3,
    "24-AL1/4-ST1A 0.4": 0.335,
    "15-AL1/3-ST1A 0.4": 0.35,
    "N2XS(FL)2Y 1x120 RM/35 64/110 kV": 0.166,
    "N2XS(FL)2Y 1x185 RM/35 64/110 kV": 0.156,
    "N2XS(FL)2Y 1x240 RM/35 64/110 kV": 0.149,
    "N2XS(FL)2Y 1x300 RM/35 64/110 kV": 0.144,
    "NA2XS2Y 1x95 RM/25 12/20 kV": 0.132,
    "NA2XS2Y 1x185 RM/25 12/20 kV": 0.117,
    "NA2XS2Y 1x240 RM/25 12/20 kV": 0.112,
    "NAYY 4x50 SE": 0.083,
    "NAYY 4x120 SE": 0.08,
    "NAYY 4x150 SE": 0.08,
}


#: Time-series inputs PyPSA knows that this reader does not model; a folder that has
#: one is refused rather than planned as if the series were not there.
UNSUPPORTED_SERIES = (
    "lines-s_max_pu.csv",
    "transformers-s_max_pu.csv",
    "generators-marginal_cost.csv",
    "generators-efficiency.csv",
    "storage_units-p_max_pu.csv",
    "storage_units-p_min_pu.csv",
    "storage_units-marginal_cost.csv",
    "links-marginal_cost.csv",
    "links-efficiency.csv",
    "storage_units-standing_loss.csv",
    "stores-standing_loss.csv",
    "stores-marginal_cost.csv",
    "stores-marginal_cost_storage.csv",
    "stores-p_set.csv",
    "stores-e_set.csv",
    "generators-start_up_cost.csv",
    "generators-shut_down_cost.csv",
    "generators-stand_by_cost.csv",
    "generators-ramp_limit_up.csv",
    "generators-ramp_limit_down.csv",
    "links-ramp_limit_up.csv",
    "links-ramp_limit_down.csv",
)
#: Static flags that turn the LOPF into something else (unit commitment of links).
UNSUPPORTED_FLAGS = (("links.csv", "committable"),)
#: Static columns that change PyPSA's optimisation when set (non-zero, not blank or
#: ``nan``) and that Spillway does not model: quadratic costs (a QP), modular (integer)
#: capacities, annuitised overnight costs. Refused by file, line and field.
UNSUPPORTED_NONZERO = tuple(
    (f"{table}.csv", column)
    for table, columns in (
        ("generators", ("marginal_cost_quadratic", "p_nom_mod", "overnight_cost")),
        ("links", ("marginal_cost_quadratic", "p_nom_mod", "overnight_cost")),
        ("storage_units", ("marginal_cost_quadratic", "p_nom_mod", "overnight_cost")),
        ("stores", ("marginal_cost_quadratic", "overnight_cost")),
        ("lines", ("s_nom_mod", "overnight_cost")),
        ("transformers", ("s_nom_mod", "overnight_cost")),
    )
    for column in columns
)
