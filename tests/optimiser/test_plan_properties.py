"""Property tests: random forecasts on the three-bus network, every plan checked."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimiser import ModelOptions, check_plan, plan, read_pypsa_folder

pytestmark = pytest.mark.solver

# wind availability (pu of 300 MW) and load (MW, at most the 500 MW of gas) per snapshot
series = st.integers(min_value=1, max_value=4).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n),
        st.lists(st.floats(50.0, 450.0), min_size=n, max_size=n),
    )
)


class TestRandomForecasts:
    @pytest.mark.parametrize("formulation", ["angles", "cycles"])
    @settings(
        max_examples=20,
        deadline=None,
        # the writer fixture rewrites the same folder for every example, by design
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        data=series,
        value=st.floats(0.0, 80.0),
        mode=st.sampled_from(["co-optimised", "curtailment-only"]),
    )
    def test_every_plan_passes_the_checker(self, three_bus, formulation, data, value, mode):
        """Any forecast and value: the plan obeys physics, limits and the mode's promise."""
        wind, load = data
        rows = range(len(wind))
        folder = three_bus(
            mining=(
                "name,bus,p_nom,value,ramp_limit_up,ramp_limit_down\n"
                f"miner_n,N,200,{value:.3f},0.5,0.5\n"
                f"miner_m,M,80,{value:.3f},,\nminer_s,S,50,{value:.3f},,\n"
            ),
            snapshots="name,weightings\n" + "".join(f"t{i},1\n" for i in rows),
            generators__p_max_pu="snapshot,wind\n" + "".join(f"t{i},{wind[i]}\n" for i in rows),
            loads__p_set="snapshot,load\n" + "".join(f"t{i},{load[i]}\n" for i in rows),
        )
        grid = read_pypsa_folder(folder)
        r = plan(grid, mode=mode, model_options=ModelOptions(formulation=formulation))
        assert check_plan(grid, r) == []
        s = r.summary()
        assert s["curtailment_mwh_after"] <= s["curtailment_mwh_before"] + 1e-6
        assert r.objective <= r.objective_base + 1e-6
        assert r.max_line_loading <= 1.0 + 1e-6
        # traced sources: non-negative, adding up to each site's mining
        traced = r.mining_sources_mw()
        assert (traced.to_numpy() >= 0).all()
        by_site = traced.T.groupby(level=0).sum().T.reindex(columns=r.mine_mw.columns).fillna(0.0)
        assert np.allclose(by_site.to_numpy(), r.mine_mw.to_numpy(), atol=1e-5)
        if mode == "curtailment-only":
            curtailed = r.curtailment_sources_mw().to_numpy().sum()
            assert curtailed == pytest.approx(r.mine_mw.to_numpy().sum(), abs=1e-5)
            freed = s["curtailment_mwh_before"] - s["curtailment_mwh_after"]
            assert r.mining_mwh <= freed + 1e-5
            assert np.allclose(r.plan.generators_p["gas"], r.base.generators_p["gas"], atol=1e-6)
