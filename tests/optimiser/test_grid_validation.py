"""Every validation error names the file, the row (CSV line) and the field."""

from __future__ import annotations

import pytest

from optimiser import BadGridDataError, read_pypsa_folder

# (case id, tables to override, file, line, field, message fragment)
CASES = [
    (
        "unknown bus",
        {"lines": "name,bus0,bus1,x,s_nom\nNS,N,S,1,100\nNM,N,X,1,1000\nMS,M,S,1,1000\n"},
        "lines.csv",
        3,
        "bus1",
        "unknown bus 'X'",
    ),
    (
        "capacity whose MW bound overflows",
        {
            "generators": (
                "name,bus,carrier,p_nom,p_max_pu\nwind,N,wind,300,1\ngas,S,gas,1e300,1e10\n"
            )
        },
        "generators.csv",
        3,
        "p_nom",
        "is not a finite MW figure",
    ),
    (
        "duplicate name",
        {"generators": "name,bus,carrier,p_nom\nwind,N,wind,300\nwind,S,gas,500\n"},
        "generators.csv",
        3,
        "name",
        "duplicate name 'wind'",
    ),
    (
        "zero reactance",
        {"lines": "name,bus0,bus1,x,s_nom\nNS,N,S,0,100\nNM,N,M,1,1000\nMS,M,S,1,1000\n"},
        "lines.csv",
        2,
        "x",
        "reactance must be positive",
    ),
    (
        "subnormal reactance (infinite susceptance)",
        {"lines": "name,bus0,bus1,x,s_nom\nNS,N,S,2.2e-311,100\nNM,N,M,1,1000\nMS,M,S,1,1000\n"},
        "lines.csv",
        2,
        "x",
        "susceptance is infinite",
    ),
    (
        "negative transformer reactance",
        {"transformers": "name,bus0,bus1,x,s_nom\nT1,M,S,-0.1,100\n"},
        "transformers.csv",
        2,
        "x",
        "reactance must be positive",
    ),
    (
        "zero rating",
        {"lines": "name,bus0,bus1,x,s_nom\nNS,N,S,1,100\nNM,N,M,1,0\nMS,M,S,1,1000\n"},
        "lines.csv",
        3,
        "s_nom",
        "rating must be positive",
    ),
    (
        "missing rating takes PyPSA's default 0",
        {"lines": "name,bus0,bus1,x\nNS,N,S,1\n"},
        "lines.csv",
        2,
        "s_nom",
        "rating must be positive",
    ),
    (
        "unknown line type",
        {"lines": "name,bus0,bus1,type,length,s_nom\nNS,N,S,Copper 1x1 1.0,10,100\n"},
        "lines.csv",
        2,
        "type",
        "unknown standard line type",
    ),
    (
        "NaN availability",
        {"generators__p_max_pu": "snapshot,wind\nt0,1.0\nt1,nan\n"},
        "generators-p_max_pu.csv",
        3,
        "wind",
        "value is 'nan'",
    ),
    (
        "negative availability",
        {"generators__p_max_pu": "snapshot,wind\nt0,-0.2\nt1,0.4\n"},
        "generators-p_max_pu.csv",
        2,
        "wind",
        "must not be negative",
    ),
    (
        "blank availability",
        {"generators__p_max_pu": "snapshot,wind\nt0,\nt1,0.4\n"},
        "generators-p_max_pu.csv",
        2,
        "wind",
        "value is missing",
    ),
    (
        "not a number",
        {"loads__p_set": "snapshot,load\nt0,250\nt1,lots\n"},
        "loads-p_set.csv",
        3,
        "load",
        "not a number: 'lots'",
    ),
    (
        "series longer than snapshots",
        {"loads__p_set": "snapshot,load\nt0,250\nt1,250\nt2,250\n"},
        "loads-p_set.csv",
        None,
        "snapshot",
        "has 3 rows but there are 2 snapshots",
    ),
    (
        "series with another snapshot",
        {"loads__p_set": "snapshot,load\nt0,250\nt9,250\n"},
        "loads-p_set.csv",
        3,
        "snapshot",
        "'t9' does not match expected 't1'",
    ),
    (
        "series for an unknown component",
        {"generators__p_max_pu": "snapshot,wind,sun\nt0,1,1\nt1,1,1\n"},
        "generators-p_max_pu.csv",
        1,
        "sun",
        "no known component",
    ),
    (
        "island without slack",
        {
            "buses": "name,v_nom\nN,1\nM,1\nS,1\nI,1\n",
            "loads": "name,bus\nload,S\nlonely,I\n",
            "loads__p_set": "snapshot,load,lonely\nt0,250,5\nt1,250,5\n",
        },
        "buses.csv",
        5,
        "name",
        "has load but no slack",
    ),
    (
        "mining site on a missing bus",
        {"mining_sites": "name,bus,p_nom,value\nminer,Z,10,5\n"},
        "mining_sites.csv",
        2,
        "bus",
        "unknown bus 'Z'",
    ),
    (
        "mining site without value",
        {"mining_sites": "name,bus,p_nom\nminer,N,10\n"},
        "mining_sites.csv",
        2,
        "value",
        "give `value` or `hashprice_per_th_day`",
    ),
    (
        "hashprice without efficiency",
        {"mining_sites": "name,bus,p_nom,hashprice_per_th_day\nminer,N,10,0.05\n"},
        "mining_sites.csv",
        2,
        "efficiency_j_per_th",
        "positive efficiency",
    ),
    (
        "mining site without p_nom",
        {"mining_sites": "name,bus,value\nminer,N,5\n"},
        "mining_sites.csv",
        None,
        "p_nom",
        "required column is missing",
    ),
    (
        "negative ramp limit",
        {"mining_sites": "name,bus,p_nom,value,ramp_limit_up\nminer,N,10,5,-1\n"},
        "mining_sites.csv",
        2,
        "ramp_limit_up",
        "must not be negative",
    ),
    (
        "p_min_pu above p_max_pu",
        {"generators": "name,bus,carrier,p_nom,p_min_pu\nwind,N,wind,300,0.9\ngas,S,gas,500,0\n"},
        "generators.csv",
        2,
        "p_min_pu",
        "exceeds p_max_pu",
    ),
    (
        "capacity expansion bounds",
        {
            "generators": "name,bus,carrier,p_nom,p_nom_extendable,p_nom_min,p_nom_max\n"
            "wind,N,wind,300,False,,\ngas,S,gas,500,True,600,400\n"
        },
        "generators.csv",
        3,
        "p_nom_max",
        "below p_nom_min",
    ),
    (
        "unsupported time series",
        {"lines__s_max_pu": "snapshot,NS\nt0,0.7\nt1,0.7\n"},
        "lines-s_max_pu.csv",
        None,
        None,
        "not supported",
    ),
    (
        "unit commitment of a link",
        {"links": "name,bus0,bus1,p_nom,committable\nL,N,S,100,True\n"},
        "links.csv",
        2,
        "committable",
        "not supported",
    ),
    (
        "committable and extendable generator",
        {
            "generators": "name,bus,carrier,p_nom,committable,p_nom_extendable\n"
            "wind,N,wind,300,False,False\ngas,S,gas,500,True,True\n"
        },
        "generators.csv",
        3,
        "committable",
        "cannot also be extendable",
    ),
    (
        "ramp limit of a committable generator",
        {
            "generators": "name,bus,carrier,p_nom,ramp_limit_up,committable\n"
            "wind,N,wind,300,,False\ngas,S,gas,500,0.5,True\n"
        },
        "generators.csv",
        3,
        "ramp_limit_up",
        "not supported",
    ),
    (
        "start-up ramp",
        {
            "generators": "name,bus,carrier,p_nom,ramp_limit_start_up\n"
            "wind,N,wind,300,\ngas,S,gas,500,0.5\n"
        },
        "generators.csv",
        3,
        "ramp_limit_start_up",
        "not supported",
    ),
    (
        "link to an unknown bus",
        {"links": "name,bus0,bus1,p_nom\nL,N,nowhere,100\n"},
        "links.csv",
        2,
        "bus1",
        "unknown bus",
    ),
    (
        "store with a fixed operation",
        {"stores": "name,bus,e_nom,p_set\nS1,S,100,5\n"},
        "stores.csv",
        2,
        "p_set",
        "not supported",
    ),
    (
        "reactance column missing",
        {"lines": "name,bus0,bus1,s_nom\nNS,N,S,100\nNM,N,M,1000\nMS,M,S,1000\n"},
        "lines.csv",
        None,
        "x",
        "column is missing: give each line's reactance x (ohm), or a standard line `type` "
        "with its `length` (km)",
    ),
    (
        "buses.csv whose first column is not name",
        {"buses": "bus,v_nom\nN,1\nM,1\nS,1\n"},
        "buses.csv",
        1,
        "bus",
        "the first column must be `name`",
    ),
    (
        "quadratic cost",
        {
            "generators": "name,bus,carrier,p_nom,marginal_cost_quadratic\n"
            "wind,N,wind,300,0\ngas,S,gas,500,0.01\n"
        },
        "generators.csv",
        3,
        "marginal_cost_quadratic",
        "not supported",
    ),
    (
        "self loop",
        {"lines": "name,bus0,bus1,x,s_nom\nNS,N,N,1,100\nNM,N,M,1,1000\nMS,M,S,1,1000\n"},
        "lines.csv",
        2,
        "bus1",
        "connects a bus to itself",
    ),
]


class TestValidationErrors:
    @pytest.mark.parametrize(
        ("overrides", "file", "line", "field", "fragment"),
        [c[1:] for c in CASES],
        ids=[c[0] for c in CASES],
    )
    def test_error_names_file_row_field(self, three_bus, overrides, file, line, field, fragment):
        """The error carries file, line and field, and says them in its message."""
        tables = {k: v for k, v in overrides.items()}
        mining = tables.pop("mining_sites", None)
        with pytest.raises(BadGridDataError) as info:
            read_pypsa_folder(three_bus(mining=mining, **tables))
        err = info.value
        assert (err.file, err.row, err.field) == (file, line, field)
        assert fragment in str(err)
        assert file in str(err)
        if line is not None:
            assert f"line {line}" in str(err)

    def test_missing_snapshots_file(self, tmp_path):
        """A folder without snapshots.csv is rejected naming that file."""
        (tmp_path / "buses.csv").write_text("name\nA\n")
        with pytest.raises(BadGridDataError, match=r"snapshots\.csv: file is missing"):
            read_pypsa_folder(tmp_path)

    def test_missing_folder(self, tmp_path):
        """A path that is not a folder is rejected."""
        with pytest.raises(BadGridDataError, match="does not exist"):
            read_pypsa_folder(tmp_path / "nope")

    def test_error_names_component(self, three_bus):
        """The message also names the component on that row."""
        with pytest.raises(BadGridDataError, match=r"lines.csv line 3 \('NM'\), field 'bus1'"):
            read_pypsa_folder(
                three_bus(lines="name,bus0,bus1,x,s_nom\nNS,N,S,1,100\nNM,N,X,1,1000\n")
            )


class TestUnusedInput:
    def test_unused_columns_and_files_are_named(self, three_bus, caplog):
        """A column or a table Spillway does not read is named in a logged warning,
        never silently ignored (columns left blank are not named)."""
        folder = three_bus(
            generators="name,bus,carrier,p_nom,marginal_cost,build_year,lifetime\n"
            "wind,N,wind,300,0,2020,\ngas,S,gas,500,50,,\n",
            loads__q_set="snapshot,load\nt0,10\nt1,10\n",
        )
        with caplog.at_level("WARNING", logger="optimiser.pypsa_io"):
            read_pypsa_folder(folder)
        text = caplog.text
        assert "generators.csv columns not used by Spillway: build_year" in text
        assert "lifetime" not in text
        assert "not used by Spillway: loads-q_set.csv" in text

    def test_a_complete_scenario_warns_nothing(self, three_bus, caplog):
        """The three-bus scenario uses every column it has: no warning."""
        with caplog.at_level("WARNING", logger="optimiser.pypsa_io"):
            read_pypsa_folder(three_bus())
        assert caplog.text == ""
