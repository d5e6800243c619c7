"""The package's layout shows the pipeline: stage packages, each saying its job, no import cycle."""

import ast
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cia_workbook"
STAGES = ["convention", "schema", "partners", "intake", "consolidate", "render", "cli"]


def _import_cycles():
    spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "scripts" / "import_cycles.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_cycles"] = module
    spec.loader.exec_module(module)
    return module


def test_no_import_cycle_in_the_package():
    tool = _import_cycles()
    assert tool.cycles(tool.import_graph(PACKAGE)) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    """The check above can fail: two modules importing each other, one lazily, are a cycle."""
    tool = _import_cycles()
    pkg = tmp_path / "cia_workbook"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""x"""\n')
    (pkg / "a" / "__init__.py").write_text('"""x"""\n')
    (pkg / "a" / "one.py").write_text("from cia_workbook.a.two import f\n")
    (pkg / "a" / "two.py").write_text("def f():\n    from cia_workbook.a import one\n")
    assert tool.cycles(tool.import_graph(pkg)) == [["cia_workbook.a.one", "cia_workbook.a.two"]]


def test_every_stage_is_a_package_that_says_its_job():
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert flat == ["fileio.py"]  # the one module every stage uses
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text("utf-8")))
        assert doc and len(doc.split()) >= 20, f"{stage}/__init__.py must say the package's job"


MODULE_MAX_LINES = 600  # issue 15: no module over about 600 lines, no class over about 200
CLASS_MAX_LINES = 200


def test_no_module_or_class_too_long_to_read():
    """A new engineer reads a module at a sitting: none over 600 lines, no class over 200."""
    long_modules, long_classes = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text("utf-8")
        name = path.relative_to(PACKAGE)
        if text.count("\n") > MODULE_MAX_LINES:
            long_modules.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > CLASS_MAX_LINES:
                long_classes.append(f"{name}: {node.name}, {node.end_lineno - node.lineno + 1} lines")
    assert long_modules == [] and long_classes == []
