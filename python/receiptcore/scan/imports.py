"""The import-boundary rule: contracts over the static import graph, built with grimp.

grimp parses every module of the packages named (its scanner is Rust, in parallel) and keeps
imports of anything else as one node per external top-level package (``torch``), so a contract
can forbid an in-repository package (``training``) and an installed one (``torch``) alike.
Imports by a literal name at run time (``importlib.import_module("torch")``, ``__import__``)
count as imports too: grimp does not see them, so the files that mention them (found natively,
:func:`~receiptcore._core.files_containing`) are read with :mod:`ast` and their calls added.
Packages are looked up only under the configured ``import_paths`` of the scanned root, never in
the running interpreter's ``sys.path`` or ``sys.modules``: the scan judges the checkout, not
whatever happens to be installed.
"""

from __future__ import annotations

import importlib.machinery
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from receiptcore.errors import ConfigError
from receiptcore.scan.config import ScanConfig
from receiptcore.scan.rules import Finding


def check_imports(root: Path, config: ScanConfig) -> list[Finding]:
    """One finding per shortest chain from a contract's modules to a forbidden module."""
    if not config.contracts or "import-boundary" in config.disable:
        return []
    root = root.resolve()
    search = [str(root / p) for p in config.import_paths if (root / p).is_dir()]
    locations = {}
    for contract in config.contracts:
        for module in contract.modules + contract.forbidden:
            top = module.split(".")[0]
            if top not in locations:
                locations[top] = _locate(top, search)
        for module in contract.modules:
            if locations[module.split(".")[0]] is None:
                raise ConfigError(
                    f"contract '{contract.name}': module '{module}' not found as a package under "
                    f"{', '.join(config.import_paths)} (set import_paths)")
    # Every package under the import paths, so chains through modules no contract names count.
    for directory in search:
        for init in sorted(Path(directory).glob("*/__init__.py")):
            name = init.parent.name
            if name.isidentifier() and name not in locations:
                locations[name] = init.parent
    packages = sorted(name for name, where in locations.items() if where is not None)
    findings = []
    dynamic = _dynamic_candidates(packages, locations)
    for ignore_tc in sorted({c.ignore_type_checking for c in config.contracts}):
        graph = _build_graph(packages, locations, ignore_tc)
        _add_top_level_modules(graph, search, locations, ignore_tc)
        _add_dynamic_imports(graph, dynamic, locations, ignore_tc)
        modules = graph.modules
        for contract in config.contracts:
            if contract.ignore_type_checking != ignore_tc:
                continue
            for source in contract.modules:
                if source not in modules:
                    raise ConfigError(f"contract '{contract.name}': module '{source}' not found")
                for forbidden in contract.forbidden:
                    target = forbidden
                    if locations[forbidden.split(".")[0]] is None:
                        target = forbidden.split(".")[0]  # external: one squashed node
                    if target not in modules:
                        continue
                    chains = graph.find_shortest_chains(importer=source, imported=target,
                                                        as_packages=True)
                    for chain in sorted(chains):
                        findings.append(_finding(root, graph, locations, contract.name, chain))
    return findings


def _parse(path: Path):
    """A module's source and its syntax tree; a file that does not parse stops the graph."""
    import ast

    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        return source, ast.parse(source, str(path))
    except SyntaxError as error:
        raise ConfigError(f"cannot build the import graph: {path}: {error}") from None


def _add_top_level_modules(graph, search: list[str], locations: dict[str, Path | None],
                           ignore_tc: bool) -> None:
    """Adds the imports of single-file top-level modules (``util.py`` beside the packages).

    grimp builds graphs of packages only (python-grimp/grimp#300) and keeps such a module as
    an external node when a package imports it, so a chain through it was cut. Its own imports
    are read here with :mod:`ast` and added to that node, which is enough for chains to pass.
    """
    files: dict[str, Path] = {}
    for directory in search:
        for path in sorted(Path(directory).glob("*.py")):
            # The first import path wins, as on sys.path; a package of that name shadows it.
            if path.stem.isidentifier() and locations.get(path.stem) is None:
                files.setdefault(path.stem, path)
    # grimp rebuilds graph.modules after each change: keep our own copy up to date instead.
    modules = set(graph.modules)
    # Only modules something imports can be on a chain; reading one may bring in another.
    pending = [name for name in files if name in modules]
    done = set(pending)
    while pending:
        name = pending.pop()
        path = files[name]
        source, tree = _parse(path)
        _add_imports(graph, modules, name, path, source, tree, locations, ignore_tc,
                     static=True)
        for imported in sorted(modules & set(files) - done):
            done.add(imported)
            pending.append(imported)


# Calls that import a module named by their first argument, when it is a literal.
_DYNAMIC_NEEDLES = (b"import_module", b"__import__")


def _dynamic_candidates(packages: list[str], locations: dict[str, Path | None]
                        ) -> dict[str, Path]:
    """The modules of the in-repository packages whose source mentions a dynamic import, by
    module name; one native pass over their files."""
    from receiptcore._core import files_containing

    files: dict[str, Path] = {}
    for package in packages:
        base = locations[package]
        if base is None:
            continue
        for path in base.rglob("*.py"):
            parts = path.relative_to(base).with_suffix("").parts
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join((package, *parts))] = path
    names = sorted(files)
    hits = files_containing([str(files[n]) for n in names], list(_DYNAMIC_NEEDLES))
    return {n: files[n] for n, hit in zip(names, hits, strict=True) if hit}


def _add_dynamic_imports(graph, candidates: dict[str, Path], locations: dict[str, Path | None],
                         ignore_tc: bool) -> None:
    """Adds the literal dynamic imports of ``candidates`` (module -> file) to the graph."""
    modules = set(graph.modules)
    for name, path in candidates.items():
        if name not in modules:
            continue
        source, tree = _parse(path)
        _add_imports(graph, modules, name, path, source, tree, locations, ignore_tc,
                     static=False)


def _add_imports(graph, modules: set[str], name: str, path: Path, source: str, tree,
                 locations: dict[str, Path | None], ignore_tc: bool, static: bool) -> None:
    """Adds the imports of module ``name`` (its parsed ``tree``) to the graph: the static ones
    when asked, and always the dynamic ones with a literal module name."""
    import ast

    lines = source.splitlines()
    skipped = _type_checking_nodes(tree) if ignore_tc else set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if static and isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif static and isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call):
            target = _dynamic_target(node, name, is_package)
            targets = [target] if target else []
        else:
            continue
        for target in targets:
            imported = _graph_node(modules, target, locations)
            if imported == name:
                continue
            if imported not in modules:
                graph.add_module(imported, is_squashed=True)
                modules.add(imported)
            graph.add_import(importer=name, imported=imported, line_number=node.lineno,
                             line_contents=lines[node.lineno - 1].strip())


def _dynamic_target(call, module: str, is_package: bool) -> str | None:
    """The module a call imports when its name is a literal: ``importlib.import_module("x")``,
    ``import_module("x")``, ``__import__("x")``; a relative name (``".x"``) is resolved against
    the calling module's package, as ``import_module(".x", __package__)`` would."""
    import ast

    func = call.func
    named = (func.attr if isinstance(func, ast.Attribute) else
             func.id if isinstance(func, ast.Name) else None)
    if named not in ("import_module", "__import__") or not call.args:
        return None
    first = call.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value):
        return None
    target = first.value
    if target.startswith("."):
        level = len(target) - len(target.lstrip("."))
        package = module.split(".") if is_package else module.split(".")[:-1]
        if level > 1:
            package = package[: len(package) - (level - 1)]
        target = ".".join([*package, target[level:]]).strip(".")
    return target or None


def _type_checking_nodes(tree) -> set[int]:
    """Ids of the nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    import ast

    inside: set[int] = set()
    for node in ast.walk(tree):
        test = node.test if isinstance(node, ast.If) else None
        # Exactly the flag: `if not TYPE_CHECKING:` guards runtime imports.
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def _graph_node(modules: set[str], dotted: str, locations: dict[str, Path | None]) -> str:
    """The node an import lands on: the longest prefix that is an in-repository module, or
    the top-level name of an external package (one squashed node, as grimp keeps them)."""
    parts = dotted.split(".")
    if locations.get(parts[0]) is None:
        return parts[0]
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return parts[0]


def _locate(name: str, search: list[str]) -> Path | None:
    """The directory of top-level package ``name`` under ``search``, or None."""
    spec = importlib.machinery.PathFinder.find_spec(name, search)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _build_graph(packages: list[str], locations: dict[str, Path | None], ignore_tc: bool):
    import grimp
    from grimp.adaptors.packagefinder import ImportLibPackageFinder
    from grimp.application.config import settings

    class RootPackageFinder(ImportLibPackageFinder):
        def determine_package_directories(self, package_name, file_system):
            return {str(locations[package_name])}

    with _package_finder(settings, RootPackageFinder()):
        try:
            return grimp.build_graph(*packages, include_external_packages=True,
                                     exclude_type_checking_imports=ignore_tc, cache_dir=None)
        except Exception as error:
            if type(error).__name__ == "SourceSyntaxError":
                raise ConfigError(f"cannot build the import graph: {error}") from None
            raise


@contextmanager
def _package_finder(settings, finder) -> Iterator[None]:
    previous = settings.PACKAGE_FINDER
    settings.configure(PACKAGE_FINDER=finder)
    try:
        yield
    finally:
        settings.configure(PACKAGE_FINDER=previous)


def _finding(root, graph, locations, contract: str, chain: tuple[str, ...]) -> Finding:
    importer, imported = chain[0], chain[1]
    details = graph.get_import_details(importer=importer, imported=imported)
    first = min(details, key=lambda d: d["line_number"]) if details else None
    path = _module_path(root, locations, importer)
    arrow = " -> ".join(chain)
    evidence = f"{arrow} (contract: {contract})"
    if first:
        evidence = f"{arrow}; first import: `{first['line_contents']}` (contract: {contract})"
    return Finding("import-boundary", path, evidence, line=first["line_number"] if first else None,
                   key=arrow)


def _module_path(root: Path, locations, module: str) -> str:
    parts = module.split(".")
    base = locations[parts[0]]
    if base is None:
        return module
    candidate = base.joinpath(*parts[1:])
    for path in (candidate / "__init__.py", candidate.with_suffix(".py")):
        if path.is_file():
            try:
                return path.relative_to(root).as_posix()
            except ValueError:
                return path.as_posix()
    return module
