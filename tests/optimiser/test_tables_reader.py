"""Reading a scenario from in-memory PyPSA tables, and what ``import optimiser`` loads."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from optimiser import BadGridDataError, read_pypsa_folder, read_pypsa_tables


def _frames(texts: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The tables as the CSV reader builds them: strings, first column as the index."""
    return {
        name.removesuffix(".csv"): pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, index_col=0
        )
        for name, text in texts.items()
    }


class TestTablesReader:
    def test_tables_read_like_the_folder(self, three_bus, three_bus_texts):
        """The same tables in memory give the same scenario as the folder on disk."""
        from_disk = read_pypsa_folder(three_bus())
        from_tables = read_pypsa_tables(_frames(three_bus_texts), source="grpc")
        assert from_tables.source == "grpc"
        assert from_tables.buses.names == from_disk.buses.names
        np.testing.assert_array_equal(
            from_tables.branches.b_mw_per_rad, from_disk.branches.b_mw_per_rad
        )
        np.testing.assert_array_equal(
            from_tables.generators.p_max_pu, from_disk.generators.p_max_pu
        )
        np.testing.assert_array_equal(from_tables.loads.p_set_mw, from_disk.loads.p_set_mw)

    def test_numeric_frames_are_accepted(self, three_bus_texts):
        """Frames of numbers (NaN for PyPSA's default) read like their CSV text."""
        frames = _frames(three_bus_texts)
        frames["generators"] = pd.DataFrame(
            {
                "bus": ["N", "S"],
                "carrier": ["wind", "gas"],
                "p_nom": [300.0, 500.0],
                "marginal_cost": [np.nan, 50.0],
            },
            index=pd.Index(["wind", "gas"], name="name"),
        )
        data = read_pypsa_tables(frames)
        assert data.generators.p_nom_mw.tolist() == [300.0, 500.0]
        assert data.generators.marginal_cost.tolist() == [0.0, 50.0]

    def test_errors_name_table_row_and_field(self, three_bus_texts):
        """A bad cell in a table names the table (as its file), the CSV line and the field."""
        texts = three_bus_texts
        texts["lines.csv"] = "name,bus0,bus1,x,s_nom\nNS,N,S,1,100\nNM,N,nowhere,1,1000\n"
        with pytest.raises(BadGridDataError, match=r"lines\.csv line 3 \('NM'\), field 'bus1'"):
            read_pypsa_tables(_frames(texts))

    def test_a_table_that_is_not_a_frame_is_refused(self, three_bus_texts):
        frames: dict[str, object] = dict(_frames(three_bus_texts))
        frames["loads"] = [1, 2, 3]
        with pytest.raises(BadGridDataError, match=r"loads\.csv: table is not a pandas"):
            read_pypsa_tables(frames)  # type: ignore[arg-type]

    def test_unsupported_series_refused_from_tables_too(self, three_bus_texts):
        frames = _frames(three_bus_texts)
        frames["generators-marginal_cost"] = pd.DataFrame(index=pd.Index(["t0", "t1"]))
        with pytest.raises(BadGridDataError, match=r"generators-marginal_cost\.csv"):
            read_pypsa_tables(frames)

    def test_folder_reads_only_the_files_it_needs(self, tmp_path, three_bus_texts):
        """A stray unreadable CSV the reader has no use for does not stop the read."""
        folder = tmp_path / "s"
        folder.mkdir()
        for name, text in three_bus_texts.items():
            (folder / name).write_text(text)
        (folder / "notes.csv").write_bytes(b"\xff\xfe\x00garbage")
        assert len(read_pypsa_folder(folder).buses) == 3

    def test_scigrid_reads_from_its_own_tables(self, scigrid_folder):
        """The folder reader is the tables reader on the folder's frames."""
        from optimiser.pypsa_io import _CsvFolder

        data = read_pypsa_tables(_CsvFolder(scigrid_folder), source=str(scigrid_folder))
        assert len(data.buses) == 585


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


class TestLazyPyomo:
    def test_import_optimiser_does_not_load_pyomo(self):
        """Reading, checking and the error classes must not pay Pyomo's import."""
        loaded = _modules_after("import optimiser\noptimiser.read_pypsa_folder")
        assert "optimiser.pypsa_io" in loaded
        assert not {m for m in loaded if m == "pyomo" or m.startswith("pyomo.")}

    def test_the_errors_load_nothing_heavy(self):
        """`import optimiser` and its errors (which the service's status table matches by
        class) load neither pandas nor Pyomo nor numpy: every `spillway` command pays it."""
        loaded = _modules_after("import optimiser\nfrom optimiser.errors import BadGridDataError")
        heavy = {"pandas", "pyomo", "numpy", "scipy"}
        assert not {m for m in loaded if m.split(".")[0] in heavy}

    def test_planner_names_load_on_first_use(self):
        loaded = _modules_after("import optimiser\noptimiser.Planner")
        assert "pyomo" in loaded

    def test_unknown_name_is_an_attribute_error(self):
        import optimiser

        with pytest.raises(AttributeError, match="no_such_thing"):
            optimiser.no_such_thing  # noqa: B018
