"""Data flows one way: the shared rooms (networks, models, data, transforms, losses, metrics,
training, serialization, export) never import a paper folder (chromosome, syncgan, glomeruli,
medisingan), at module level or inside a function. Read from the source with `ast`, so a lazy
import inside a method counts too."""

import ast
import pathlib

import kerasgan

PACKAGE = pathlib.Path(kerasgan.__file__).resolve().parent
PAPER_FOLDERS = ("chromosome", "syncgan", "glomeruli", "medisingan")
SHARED = ("networks", "models", "data", "metrics", "transforms.py", "losses.py", "training.py",
          "distribute.py", "serialization.py", "export.py", "inference_graph.py", "schedules.py", "_runs.py")


def paper_imports(path):
    """(line, module) of every import of kerasgan.<paper folder> in the file at `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if len(parts) >= 2 and parts[0] == "kerasgan" and parts[1] in PAPER_FOLDERS:
                found.append((node.lineno, name))
                break
    return found


def shared_files():
    files = []
    for name in SHARED:
        path = PACKAGE / name
        if path.is_dir():
            files += sorted(path.rglob("*.py"))
        elif path.is_file():
            files.append(path)
    return files


def test_shared_rooms_import_no_paper_folder():
    files = shared_files()
    assert len(files) >= 15  # the rooms above exist (a renamed folder must not empty this test)
    offenders = {str(path.relative_to(PACKAGE)): hits for path in files if (hits := paper_imports(path))}
    assert offenders == {}


def test_the_check_sees_a_lazy_import_inside_a_function(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("import numpy\n\n\ndef f():\n    from kerasgan.medisingan.io import split_channels\n"
                       "    import kerasgan.glomeruli.data as d\n    from kerasgan.transforms import resize\n")
    assert paper_imports(planted) == [(5, "kerasgan.medisingan.io"), (6, "kerasgan.glomeruli.data")]
