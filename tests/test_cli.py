import os
import subprocess
import sys

import pytest

from gpsim.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "gpsim.cli", *args], capture_output=True, text=True, timeout=120)


def test_run_prints_summary_and_writes_outputs(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(["run", "--scenario", "funding-cliff", "--set", "n_practices=60", "--years", "3", "--out", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "year 0" in text and "relationships / hospital" in text
    for name in ("steps.parquet", "orgs.parquet", "closures.parquet", "final.json", "summary.png"):
        assert (out / name).stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--set", "nonsense=1"], "unknown parameter 'nonsense'"),
        (["run", "--set", "years=500"], "parameter 'years' = 500 is out of range"),
        (["run", "--set", "n_practices=lots"], "'lots' is not a valid int"),
        (["run", "--scenario", "utopia"], "unknown scenario 'utopia'"),
        (["run", "--set", "years"], "expected name=value"),
        (["run", "--years", "soon"], "invalid float value"),
        (["params", "--scenario", "utopia"], "unknown scenario"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    done = run_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_out_into_a_file_fails_cleanly_and_writes_nothing(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    done = run_cli("run", "--set", "n_practices=40", "--years", "0.5", "--out", str(blocker / "sub"))
    assert done.returncode == 2 and "cannot write to output folder" in done.stderr
    assert blocker.read_text() == "x"


def test_listings_and_help():
    assert "funding-cliff" in run_cli("scenarios").stdout
    params = run_cli("params").stdout
    assert "pump_priming_per_patient" in params and "source: facts #13" in params
    assert "| `years` |" in run_cli("params", "--markdown").stdout
    for cmd in ([], ["run"], ["scenarios"], ["params"]):
        done = run_cli(*cmd, "--help")
        assert done.returncode == 0 and "usage:" in done.stdout


def test_a_figure_that_cannot_be_drawn_is_one_line_exit_2_and_no_folder(tmp_path):
    """A matplotlib that fails to import: the run, its tables and final.json are not written either."""
    import os

    fake = tmp_path / "site" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("this matplotlib is broken")\n')
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake.parent), *sys.path]))
    done = subprocess.run(
        [sys.executable, "-m", "gpsim.cli", "run", "--set", "n_practices=40", "--years", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == ["gpsim: error: summary.png could not be drawn: ImportError: this matplotlib is broken"]
    assert done.stdout == ""  # no summary printed for a run whose outputs were not written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no run folder, no temporary folder


def _subcommands(parser) -> dict:
    import argparse

    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


@pytest.mark.parametrize("command", ["run", "scenarios", "params"])
def test_a_core_command_gets_the_same_options_from_the_smaller_parser(command):
    """A command defined in gpsim.cli loads only the plugins that add to it; none of its options may be lost."""
    from gpsim.cli import PLUGINS, build_parser

    def options(parser):
        return sorted((a.dest, tuple(a.option_strings), repr(a.default)) for a in parser._actions)

    small, full = build_parser(command), build_parser()
    assert set(_subcommands(full)) - set(_subcommands(small)), "the full parser should have more commands"
    assert options(_subcommands(small)[command]) == options(_subcommands(full)[command])
    assert _subcommands(small)[command].get_default("func") is not None
    assert len(PLUGINS) > 1


def test_the_top_level_help_lists_every_command():
    out = run_cli("--help").stdout
    for command in ("run", "scenarios", "params", "regions", "sweep", "calibrate", "validate", "bench"):
        assert f"    {command}" in out, command


def _own_process(tmp_path, args, before=""):
    """``gpsim.cli.main()`` as a process's own command line (as the ``gpsim`` script calls it), with an exit
    function registered first and ``before`` run first."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('exit functions ran', file=sys.stderr))\n"
        f"{before}\n"
        "from gpsim.cli import main\n"
        f"sys.argv = ['gpsim', *{list(args)!r}]\n"
        "sys.exit(main())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # output buffered, as usual
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )


def test_a_finished_run_ends_its_process_with_everything_written_printed_and_exit_functions_run(tmp_path):
    out = tmp_path / "run"
    done = _own_process(tmp_path, ["run", "--set", "n_practices=40", "--years", "1", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("final.json, summary.png")  # the whole summary, flushed down the pipe
    assert done.stderr.strip() == "exit functions ran"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["steps.parquet", "orgs.parquet", "closures.parquet", "org_money.parquet", "final.json", "summary.png"]
    )
    bad = _own_process(tmp_path, ["run", "--years", "-1"])
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[0].startswith("gpsim: error: parameter 'years' = -1")
    assert bad.stderr.splitlines()[1:] == ["exit functions ran"]


def test_a_run_on_a_python_without_atexits_private_runner_ends_the_usual_way(tmp_path):
    """Ending early calls CPython's private ``atexit._run_exitfuncs``; where it is missing the process ends as
    any other does: still exit 0, the output written and the exit functions run (by the interpreter)."""
    done = _own_process(
        tmp_path, ["run", "--set", "n_practices=40", "--years", "0.5"], before="del atexit._run_exitfuncs"
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "exit functions ran"
    assert "final.json" not in done.stdout and "gpsim:" in done.stdout  # the summary, as printed without --out


def test_a_run_with_another_thread_running_ends_its_process_the_usual_way(tmp_path):
    """The interpreter waits for a thread still running at the end: here one that writes a file once the main
    thread has finished."""
    mark = tmp_path / "thread-finished"
    thread = (
        "import threading, time, pathlib\n"
        "def after_main():\n"
        "    while threading.main_thread().is_alive():\n"
        "        time.sleep(0.01)\n"
        f"    pathlib.Path({str(mark)!r}).write_text('x')\n"
        "threading.Thread(target=after_main).start()"
    )
    done = _own_process(tmp_path, ["run", "--set", "n_practices=40", "--years", "0.5", "--quiet"], before=thread)
    assert done.returncode == 0, done.stderr
    assert mark.read_text() == "x"


def test_the_quick_model_import_leaves_everything_as_a_plain_import_would(tmp_path):
    code = (
        "import inspect, sys\n"
        "import numpy\n"
        "stack, getmodule = inspect.stack, inspect.getmodule\n"
        "from gpsim.cli import import_model\n"
        "import_model()\n"
        "assert inspect.stack is stack and inspect.getmodule is getmodule\n"
        "import mesa.mesa_logging as ml\n"
        "assert ml._module_loggers['mesa.model'].name == 'MESA.mesa.model', ml._module_loggers\n"
        "assert 'unittest' not in sys.modules, 'numpy.testing was loaded'\n"
        "numpy.testing.assert_array_equal([1, 2], [1, 2])  # loaded when used\n"
        "from numpy.testing import assert_allclose\n"
        "import numpy.f2py\n"
        "assert callable(numpy.f2py.run_main) and callable(assert_allclose)\n"
        "from gpsim.model import GPModel\n"
        "print('ok')\n"
    )
    _prints_ok(tmp_path, code)


def _prints_ok(tmp_path, code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.stdout.strip() == "ok", done.stderr


def test_a_run_from_python_leaves_numpys_modules_as_a_plain_import_would(tmp_path):
    """``main([...])`` from a script, notebook or test: the process carries on, so no module is left lazy (a
    lazy module used by several threads at once for the first time can look empty on Python 3.12.1)."""
    code = (
        "import sys, threading, types\n"
        "from gpsim.cli import main\n"
        "assert main(['run', '--set', 'n_practices=40', '--years', '0.5', '--quiet']) == 0\n"
        "kinds = {n: type(sys.modules[n]) for n in ('numpy.testing', 'numpy.f2py') if n in sys.modules}\n"
        "assert all(k is types.ModuleType for k in kinds.values()), kinds\n"
        "import numpy\n"
        "failed, start = [], threading.Barrier(8)\n"
        "def use():\n"
        "    start.wait()\n"
        "    try:\n"
        "        numpy.testing.assert_allclose(1.0, 1.0)\n"
        "    except Exception as err:\n"
        "        failed.append(repr(err))\n"
        "threads = [threading.Thread(target=use) for _ in range(8)]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join()\n"
        "assert not failed, failed[:1]\n"
        "print('ok')\n"
    )
    _prints_ok(tmp_path, code)


def test_a_run_under_a_profiler_ends_the_usual_way_so_the_profile_is_written(tmp_path):
    """``python -m cProfile -o FILE`` writes FILE once the command has returned: the run must not cut that short."""
    import pstats

    profile = tmp_path / "run.prof"
    args = ["run", "--set", "n_practices=40", "--years", "0.5", "--quiet"]
    cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "gpsim.cli", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert any(func[2] == "cmd_run" for func in pstats.Stats(str(profile)).stats)
