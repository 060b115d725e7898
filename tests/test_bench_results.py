"""A benchmark's figures are kept: a run goes at the top of its results file, above the
runs kept there before."""

from bench.harness import keep


def test_a_bench_run_goes_above_the_runs_its_results_file_kept(tmp_path):
    results = tmp_path / "sales_import.md"
    keep(str(results), ["# sales_import — first run", "10000 lines 3.1 s"])
    keep(str(results), ["# sales_import — second run", "10000 lines 2.9 s"])
    keep(None, ["# printed only"])
    assert results.read_text() == (
        "# sales_import — second run\n10000 lines 2.9 s\n\n"
        "# sales_import — first run\n10000 lines 3.1 s\n"
    )
